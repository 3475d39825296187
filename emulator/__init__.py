"""The local AWS: an emulated backend, the declared resources, Lambda containers and the HTTP API."""
