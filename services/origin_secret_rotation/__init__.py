"""Rotation of the origin-verify secret that CloudFront and the API share."""
