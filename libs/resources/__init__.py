"""Declarations of the AWS resources the services use, each written once.

The CDK stacks, the emulator, the local gateway, the OpenAPI document and the load tests all read
these modules; nothing else restates a table key, a route or a password rule.
"""
