"""The CDK app: one module per stack, built from the declarations in ``libs/resources``."""

import os

# jsii warns on every start that Node 20 is untested, deprecated, end-of-life; CDK synthesizes fine
# on it (checked with aws-cdk-lib 2.275).
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # major versions
