"""`just load`: Locust scenarios of a shop, gated by the SLOs the CloudWatch alarms use."""
