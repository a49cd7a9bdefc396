"""The agents gymkit ships. Each is imported only when used (see :mod:`gymkit.registry`)."""
