"""The API's OpenAPI document, generated from the route declaration and the services' contracts."""
