"""ycsa-conform: conformance testing for smart lamp poles and smart communities."""

__version__ = "0.5.0"

__all__ = ["__version__"]
