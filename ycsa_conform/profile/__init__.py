"""Profiles: the machine-readable form of a standard."""

from .loader import builtin_profiles, load_profile, resolve_profile_path
from .model import Area, Level, Parameter, Profile, Requirement

__all__ = [
    "Area",
    "Level",
    "Parameter",
    "Profile",
    "Requirement",
    "builtin_profiles",
    "load_profile",
    "resolve_profile_path",
]
