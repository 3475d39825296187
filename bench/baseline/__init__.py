"""The same endpoints written the conventional way (boto3, pydantic v2, Powertools' sync resolver).

A reference for `just bench` only, never deployed: same table, same items, same responses.
"""
