"""Local stand-ins for external services, following the shared format notes exactly."""
