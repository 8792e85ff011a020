"""Event Grid classification (pure): the documentation's samples in both schemas, foreign topics,
non-snapshot events, malformed and inconsistent events, and the binding objects the host hands over."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import azure.functions as func
import pytest

from core.azure.settings import SettingsError
from core.snapshots.eventgrid import (
    Ignored,
    Refused,
    SnapshotWritten,
    TopicAllowlist,
    Unusable,
    classify,
    event_to_dict,
)
from tests.snapshots.samples import DOC_CLOUD_EVENT, DOC_EVENT_GRID, SUBSCRIPTION, TOPIC, snapshot_event, snapshot_id

OTHER_SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
ALLOW = TopicAllowlist.parse(TOPIC)


@pytest.mark.parametrize("schema", ["EventGrid", "CloudEvents"])
def test_a_snapshot_write_in_either_schema_is_acted_on(schema):
    result = classify(snapshot_event("myOSSnapshot", schema=schema), ALLOW)
    assert result == SnapshotWritten("4db48cba-50a2-455a-93b4-de41a3b5b7f6", TOPIC, snapshot_id("myOSSnapshot"),
                                     "2018-07-19T18:38:04.6117357Z")


@pytest.mark.parametrize("sample", [DOC_EVENT_GRID, DOC_CLOUD_EVENT], ids=["EventGrid", "CloudEvents"])
def test_the_documented_storage_account_write_is_ignored(sample):
    """The sample itself is a storage account write: another operation, ignored (not refused)."""
    result = classify(sample, ALLOW)
    assert isinstance(result, Ignored)
    assert "Microsoft.Storage/storageAccounts/write" in result.reason


@pytest.mark.parametrize("event_type", ["Microsoft.Resources.ResourceDeleteSuccess",
                                        "Microsoft.Resources.ResourceWriteFailure",
                                        "Microsoft.Resources.ResourceActionSuccess"])
def test_other_event_types_for_snapshots_are_ignored(event_type):
    event = snapshot_event("s1")
    event["eventType"] = event_type
    result = classify(event, ALLOW)
    assert isinstance(result, Ignored) and event_type in result.reason


def test_a_foreign_topic_is_refused_and_says_which_setting_to_change():
    event = snapshot_event("s1", subscription=OTHER_SUBSCRIPTION)
    result = classify(event, ALLOW)
    assert isinstance(result, Refused)
    assert f"/subscriptions/{OTHER_SUBSCRIPTION}" in result.reason and "EVENTGRID_TOPIC_ALLOWLIST" in result.reason


def test_an_empty_allowlist_refuses_everything():
    result = classify(snapshot_event("s1"), TopicAllowlist.parse(""))
    assert isinstance(result, Refused) and "empty" in result.reason


def test_foreign_topics_are_refused_even_for_events_we_would_ignore():
    assert isinstance(classify({**DOC_EVENT_GRID, "topic": f"/subscriptions/{OTHER_SUBSCRIPTION}"}, ALLOW), Refused)


def test_a_resource_group_topic_is_inside_its_subscription_and_a_group_entry_admits_only_that_group():
    group_topic = f"{TOPIC}/resourceGroups/MyResourceGroup"
    event = snapshot_event("s1", schema="CloudEvents", topic=group_topic)
    assert isinstance(classify(event, ALLOW), SnapshotWritten)
    only_group = TopicAllowlist.parse(f"{TOPIC}/resourcegroups/myresourcegroup")
    assert isinstance(classify(event, only_group), SnapshotWritten)
    other = snapshot_event("s1", resource_group="OtherGroup", topic=f"{TOPIC}/resourceGroups/OtherGroup")
    assert isinstance(classify(other, only_group), Refused)


def test_a_subject_outside_its_topic_is_refused():
    """An allowed topic cannot vouch for a snapshot in another subscription."""
    event = snapshot_event("s1", subscription=OTHER_SUBSCRIPTION, topic=TOPIC)
    result = classify(event, TopicAllowlist.parse(f"{TOPIC},/subscriptions/{OTHER_SUBSCRIPTION}"))
    assert isinstance(result, Refused) and "outside its topic" in result.reason


def test_subject_and_resource_uri_must_name_the_same_snapshot():
    event = snapshot_event("s1")
    event["data"]["resourceUri"] = snapshot_id("s2")
    result = classify(event, ALLOW)
    assert isinstance(result, Refused) and "different resources" in result.reason
    event["data"]["resourceUri"] = snapshot_id("S1").lower()  # ARM IDs compare without case
    assert isinstance(classify(event, ALLOW), SnapshotWritten)


@pytest.mark.parametrize("subject, expected", [
    ("subscriptions/x/snapshots/s1", "must start with '/subscriptions/'"),
    (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1", "not a snapshot"),
    (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/a b", "whitespace"),
])
def test_a_subject_that_is_not_a_snapshot_id_is_refused(subject, expected):
    event = snapshot_event("s1")
    event["subject"] = subject
    del event["data"]["resourceUri"]
    result = classify(event, ALLOW)
    assert isinstance(result, Refused) and expected in result.reason


@pytest.mark.parametrize("field", ["id", "eventType"])
def test_an_event_without_id_or_type_is_refused(field):
    event = snapshot_event("s1")
    del event[field]
    result = classify(event, ALLOW)
    assert isinstance(result, Refused) and field in result.reason


def test_the_docs_cloud_event_variant_with_topic_instead_of_source_is_read():
    """One localisation of the docs shows the CloudEvents sample with `topic` and no specversion."""
    event = snapshot_event("s1", schema="CloudEvents")
    event["topic"] = event.pop("source")
    del event["specversion"]
    assert isinstance(classify(event, ALLOW), SnapshotWritten)


@pytest.mark.parametrize("raw, message", [
    ("subscriptions/abc", "is not a topic"),
    (f"{TOPIC}/providers/Microsoft.EventGrid/topics/t", "is not a topic"),
    ("/subscriptions/not-a-guid", "is not a topic"),
])
def test_allowlist_entries_are_validated(raw, message):
    with pytest.raises(SettingsError, match=message) as raised:
        TopicAllowlist.parse(raw)
    assert "EVENTGRID_TOPIC_ALLOWLIST" in str(raised.value)


def test_event_to_dict_reads_the_bindings_of_both_schemas():
    """What the Functions host hands the function (EventGridEvent or CloudEvent) classifies like the JSON."""
    sample = snapshot_event("s1")
    grid = func.EventGridEvent(id=sample["id"], data=sample["data"], topic=sample["topic"], subject=sample["subject"],
                               event_type=sample["eventType"], event_time=datetime(2018, 7, 19, tzinfo=UTC),
                               data_version="2")
    cloud_sample = snapshot_event("s1", schema="CloudEvents")
    cloud = func.CloudEvent(id=cloud_sample["id"], source=cloud_sample["source"], type=cloud_sample["type"],
                            specversion="1.0", data=cloud_sample["data"], subject=cloud_sample["subject"])
    for binding in (grid, cloud):
        result = classify(event_to_dict(binding), ALLOW)
        assert isinstance(result, SnapshotWritten) and result.snapshot_id == snapshot_id("s1")
    assert event_to_dict(grid)["eventTime"].startswith("2018-07-19")


def test_the_sample_is_not_changed_by_classification():
    event = snapshot_event("s1")
    before = copy.deepcopy(event)
    classify(event, ALLOW)
    assert event == before


def test_an_unusable_snapshot_write_of_an_allowed_topic_is_told_apart_from_a_foreign_one():
    """The intake records the first as a Failed record; the second stays a warning (nothing of ours)."""
    event = snapshot_event("s1")
    event["data"]["resourceUri"] = snapshot_id("s2")
    unusable = classify(event, ALLOW)
    assert isinstance(unusable, Unusable) and unusable.subject == snapshot_id("s1")
    event["subject"] = "not-an-id"
    assert isinstance(classify(event, ALLOW), Unusable)
    foreign = classify(snapshot_event("s1", subscription=OTHER_SUBSCRIPTION), ALLOW)
    outside = classify(snapshot_event("s1", subscription=OTHER_SUBSCRIPTION, topic=TOPIC),
                       TopicAllowlist.parse(f"{TOPIC},/subscriptions/{OTHER_SUBSCRIPTION}"))
    assert isinstance(foreign, Refused) and not isinstance(foreign, Unusable)
    assert isinstance(outside, Refused) and not isinstance(outside, Unusable)
