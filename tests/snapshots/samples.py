"""The documentation's sample events ("Azure subscription as an Event Grid source", ResourceWriteSuccess), in the
Event Grid schema and in CloudEvents 1.0, with the placeholders filled in. `snapshot_event` is the same sample
for a snapshot write (what ARM sends when a snapshot is created or updated)."""

from __future__ import annotations

import copy
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TOPIC = f"/subscriptions/{SUBSCRIPTION}"
STORAGE_ACCOUNT = (f"/subscriptions/{SUBSCRIPTION}/resourcegroups/MyResourceGroup/providers/Microsoft.Storage/"
                   "storageAccounts/mystorage")

# The documented ResourceWriteSuccess sample (Event Grid schema), claims abridged.
DOC_EVENT_GRID: dict[str, Any] = {
    "subject": STORAGE_ACCOUNT,
    "eventType": "Microsoft.Resources.ResourceWriteSuccess",
    "eventTime": "2018-07-19T18:38:04.6117357Z",
    "id": "4db48cba-50a2-455a-93b4-de41a3b5b7f6",
    "data": {
        "authorization": {
            "scope": STORAGE_ACCOUNT,
            "action": "Microsoft.Storage/storageAccounts/write",
            "evidence": {"role": "Subscription Admin"},
        },
        "claims": {"aud": "{audience-claim}", "iss": "{issuer-claim}", "ver": "1.0"},
        "correlationId": "{ID}",
        "resourceProvider": "Microsoft.Storage",
        "resourceUri": STORAGE_ACCOUNT,
        "operationName": "Microsoft.Storage/storageAccounts/write",
        "status": "Succeeded",
        "subscriptionId": SUBSCRIPTION,
        "tenantId": "{tenant-id}",
    },
    "dataVersion": "2",
    "metadataVersion": "1",
    "topic": TOPIC,
}

# The same sample in the CloudEvents schema tab of the documentation.
DOC_CLOUD_EVENT: dict[str, Any] = {
    "subject": STORAGE_ACCOUNT,
    "source": TOPIC,
    "type": "Microsoft.Resources.ResourceWriteSuccess",
    "time": "2018-07-19T18:38:04.6117357Z",
    "id": "4db48cba-50a2-455a-93b4-de41a3b5b7f6",
    "data": copy.deepcopy(DOC_EVENT_GRID["data"]),
    "specversion": "1.0",
}


def snapshot_id(name: str, resource_group: str = "MyResourceGroup", subscription: str = SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/snapshots/{name}"


def snapshot_event(name: str, *, schema: str = "EventGrid", event_id: str = "4db48cba-50a2-455a-93b4-de41a3b5b7f6",
                   resource_group: str = "MyResourceGroup", subscription: str = SUBSCRIPTION,
                   topic: str | None = None) -> dict[str, Any]:
    """The documented sample, for a snapshot write."""
    resource = snapshot_id(name, resource_group, subscription)
    event = copy.deepcopy(DOC_CLOUD_EVENT if schema == "CloudEvents" else DOC_EVENT_GRID)
    event["id"] = event_id
    event["subject"] = resource
    event["data"].update(resourceUri=resource, operationName="Microsoft.Compute/snapshots/write",
                         resourceProvider="Microsoft.Compute", subscriptionId=subscription)
    event["data"]["authorization"].update(scope=resource, action="Microsoft.Compute/snapshots/write")
    event["source" if schema == "CloudEvents" else "topic"] = topic or f"/subscriptions/{subscription}"
    return event
