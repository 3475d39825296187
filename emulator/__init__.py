"""The local AWS: an emulated backend, the declared resources, Lambda containers, the HTTP API."""
