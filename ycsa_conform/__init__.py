"""ycsa-conform: conformance testing for smart lamp poles and smart communities."""

__version__ = "0.7.0.dev0"

__all__ = ["__version__"]
