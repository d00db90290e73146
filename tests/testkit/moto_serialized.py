#!/usr/bin/env python3
"""moto's DynamoDB server, handling one request at a time.

moto_server serves requests on parallel threads, but its TransactWriteItems is not thread-safe: it deep-copies whole
tables as a snapshot and restores the snapshot when a transaction fails, so under concurrency it resurrects or drops
other requests' writes (seen here: 3 winners out of 20 racing userName creates; a member's user item "missing" in a
transaction). Real DynamoDB transactions are serialisable. Serialising requests gives moto that atomicity; connections
are still accepted concurrently.

It also makes TransactWriteItems cheap. moto snapshots every table a transaction names with copy.deepcopy before
applying it (once per transaction item), so each transaction costs time proportional to the whole table: on a
local stack that has provisioned a few thousand users every user create took seconds and moto grew to gigabytes.
With requests serialised, a journal of just the items the transaction names is an equivalent rollback: the table
snapshot becomes a no-op and a failed transaction restores the journaled items instead.

And it makes Query cost what it costs in DynamoDB, not what the whole table costs: moto answers every Query by
sorting all items of the table with Python-level comparisons (about 250 ms per call at 10,000 items, so a local
stack slowed to a few requests per second as tests added users). Sorting uses the same key values natively, a
Query on the table's own key looks at that one partition, and an index Query only at the items holding its key
values; moto's own code still filters, orders and pages the results.

And it makes an index Query look only at the items holding its key value. moto finds them by testing every item of
the table, so each lookup through a GSI cost time proportional to the whole table (about 40 ms per call at 20,000
items: the local stack slowed down as the test suite filled it). A map from each GSI hash-key value to the keys of
the items holding it is built once per table, on its first index Query, and kept up to date by every write path
(PutItem, UpdateItem, DeleteItem, which batch writes and transactions go through, and the transaction rollback
above). Candidates are still checked against the item as stored, and moto's own code still orders and pages them.

And it makes publishing an event cost what it costs, not what moto's bookkeeping costs. For every event a rule
delivers, moto parses the rule target's input paths with jsonpath-ng, whose parser builds its LALR tables (ply's
yacc) again on every call: about three quarters of moto's time on a local stack provisioning users. The parsed path
is kept per expression text (a parsed path is an immutable tree). And every SQS SendMessage reads the queue's
attributes, whose approximate message counts walk every message in the queue: the events tap queue grows through a
test run, so each send got slower. While a message is being sent those counts read 0 (SendMessage only looks at
ContentBasedDeduplication); GetQueueAttributes still counts.

And it signs KMS digests the way KMS does. A client that signs more than 4 KB (or wants to send less) hashes the
message itself and calls Sign with MessageType=DIGEST; moto ignores MessageType and hashes the digest again, so its
signatures over a digest never verify. The wrapper makes moto's RSA and ECDSA keys sign a DIGEST as prehashed.

Usage: moto_serialized.py [-H 127.0.0.1] [-p 8000]
"""

import argparse
import copy
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _TableSnapshotIsFree:
    """Stands in for the `copy` module inside moto.dynamodb.models: a deep copy of a whole Table (the rollback
    snapshot of transact_write_items) is the table itself; every other copy stays a real one."""

    copy = staticmethod(copy.copy)

    def __init__(self, table_type):
        self._table_type = table_type

    def deepcopy(self, value, memo=None):
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)


def _journal(backend, transact_items):
    """(table, hash value, range value, deep copy of the item or None) for every item the transaction names."""
    journal = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        op = next(iter(entry.values()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        key = op.get("Key")
        if key is None:
            item = op.get("Item") or {}
            key = {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in item}
        try:
            hash_value, range_value = backend.get_keys_value(table, key)
            current = table.get_item(hash_value, range_value)
        except Exception:
            # A malformed key: moto rejects the transaction before changing anything.
            continue
        journal.append((table, hash_value, range_value, copy.deepcopy(current)))
    return journal


def _restore(journal):
    for table, hash_value, range_value, item in reversed(journal):
        if item is None:
            if table.get_item(hash_value, range_value) is not None:
                table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item
        _refresh_gsi_index(table, hash_value, range_value)


def _sort_key(item):
    # DynamoType orders by cast_value (its __lt__); the same values, compared natively.
    if item.range_key is None:
        return (item.hash_key.cast_value,)
    return (item.hash_key.cast_value, item.range_key.cast_value)


class _GsiHashIndex:
    """GSI hash-key value → keys of the items holding it, for one table."""

    def __init__(self, table):
        self.attrs = {
            key["AttributeName"]
            for index in (table.global_indexes or [])
            for key in index.schema
            if key.get("KeyType") == "HASH"
        }
        self.holders = {}  # (attribute, type, value) -> {(hash, range): None}, insertion-ordered
        self.entries_of = {}  # (hash, range) -> [(attribute, type, value)]
        for item in _unsorted_items(table):
            self.add(item)

    def entry(self, name, value):
        return (name, value.type, str(value.value))

    def remove(self, key):
        for entry in self.entries_of.pop(key, ()):
            holders = self.holders.get(entry)
            if holders is not None:
                holders.pop(key, None)
                if not holders:
                    del self.holders[entry]

    def add(self, item):
        key = (item.hash_key, item.range_key)
        self.remove(key)
        entries = [self.entry(name, item.attrs[name]) for name in self.attrs if name in item.attrs]
        for entry in entries:
            self.holders.setdefault(entry, {})[key] = None
        if entries:
            self.entries_of[key] = entries

    def refresh(self, table, hash_value, range_value):
        item = table.get_item(hash_value, range_value) if hash_value is not None else None
        if item is None:
            self.remove((hash_value, range_value))
        else:
            self.add(item)

    def candidates(self, table, name, value):
        """The items whose `name` equals `value`, or None when this index cannot tell."""
        if name not in self.attrs or value.type not in ("S", "B"):
            return None
        found = []
        for hash_value, range_value in self.holders.get(self.entry(name, value), {}):
            item = table.get_item(hash_value, range_value)
            if item is not None:
                found.append(item)
        return found


def _refresh_gsi_index(table, hash_value, range_value):
    index = getattr(table, "_wif_gsi_index", None)
    if index is not None:
        index.refresh(table, hash_value, range_value)


def _gsi_index(table):
    index = getattr(table, "_wif_gsi_index", None)
    if index is None:
        index = _GsiHashIndex(table)
        table._wif_gsi_index = index
    return index


def keep_gsi_indexes_current():
    """Every write path of moto 5 ends in Table.put_item, Table.delete_item or the backend's update_item (which
    changes the stored item in place); each refreshes the index entry of the key it touched."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original_put, original_delete = Table.put_item, Table.delete_item
    original_update = DynamoDBBackend.update_item

    def put_item(self, *args, **kwargs):
        item = original_put(self, *args, **kwargs)
        if item is not None:
            _refresh_gsi_index(self, item.hash_key, item.range_key)
        return item

    def delete_item(self, hash_key, range_key):
        item = original_delete(self, hash_key, range_key)
        _refresh_gsi_index(self, hash_key, range_key)
        return item

    def update_item(self, table_name, *args, **kwargs):
        item = original_update(self, table_name, *args, **kwargs)
        if item is not None:
            _refresh_gsi_index(self.get_table(table_name), item.hash_key, item.range_key)
        return item

    Table.put_item, Table.delete_item = put_item, delete_item
    DynamoDBBackend.update_item = update_item


def _unsorted_items(table):
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


def make_queries_cheap():
    try:
        from moto.dynamodb.models.table import Table

        original_query = Table.query
    except (ImportError, AttributeError) as err:
        print(f"moto_serialized: keeping moto's table-sorting queries ({err})", file=sys.stderr)
        return

    def all_items(self):
        return sorted(_unsorted_items(self), key=_sort_key)

    def query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        conditions = kwargs.get("hash_key_conditions")
        # moto filters all_items() by the (index) hash key; hand it only the items that can match, which keeps
        # every result and its order (a superset filtered the same way).
        if index_name is None and hash_key is not None:
            partition = self.items.get(hash_key)
            if partition is None:
                candidates = []
            elif self.range_key_attr:
                candidates = sorted(partition.values(), key=_sort_key)
            else:
                candidates = [partition]
        elif index_name is not None and conditions:
            def matches(item):
                for name, expected in conditions:
                    v = item.attrs.get(name)
                    # Numbers compare by value ("1" == "1.0"), as moto's own DynamoType equality does.
                    if v is None or v.type != expected.type or (v.value != expected.value and v != expected):
                        return False
                return True

            name, expected = conditions[0]
            indexed = _gsi_index(self).candidates(self, name, expected)
            pool = _unsorted_items(self) if indexed is None else indexed
            matching = [item for item in pool if matches(item)]
            candidates = sorted(matching, key=_sort_key)
        else:
            return original_query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.all_items = all_items
    Table.query = query


def make_transactions_cheap():
    try:
        import moto.dynamodb.models as models
        from moto.dynamodb.models.table import Table

        original = models.DynamoDBBackend.transact_write_items
        models.copy  # noqa: B018 - the module attribute we replace must exist
    except (ImportError, AttributeError) as err:
        print(f"moto_serialized: keeping moto's table-copying transactions ({err})", file=sys.stderr)
        return

    def transact_write_items(self, transact_items):
        journal = _journal(self, transact_items)
        try:
            return original(self, transact_items)
        except Exception:
            _restore(journal)
            raise

    models.copy = _TableSnapshotIsFree(Table)
    models.DynamoDBBackend.transact_write_items = transact_write_items


def make_event_delivery_cheap():
    try:
        import functools

        import jsonpath_ng.ext
        from moto.sqs import models as sqs_models
    except ImportError as err:
        print(f"moto_serialized: keeping moto's per-event path parsing ({err})", file=sys.stderr)
        return
    # moto's EventTemplateParser imports `parse` from jsonpath_ng.ext inside the call, so it finds this one.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)

    # Requests are served one at a time (see main), so one flag describes the request being handled.
    state = {"sending": False}

    def counted_unless_sending(prop):
        return property(lambda self: 0 if state["sending"] else prop.fget(self))

    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        original = getattr(sqs_models.Queue, name, None)
        if isinstance(original, property):
            setattr(sqs_models.Queue, name, counted_unless_sending(original))
    original_send = sqs_models.SQSBackend.send_message

    def send_message(self, *args, **kwargs):
        state["sending"] = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            state["sending"] = False

    sqs_models.SQSBackend.send_message = send_message


def make_kms_digest_signing_real():
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
        from moto.kms import responses, utils as kms_utils

        original_response = responses.KmsResponse.sign
        original_rsa = kms_utils.RSAPrivateKey.sign
        original_ecdsa = kms_utils.ECDSAPrivateKey.sign
        rsa_padding = kms_utils.RSAPrivateKey._RSAPrivateKey__padding_and_hash_algorithm
        ecdsa_hash = kms_utils.ECDSAPrivateKey._ECDSAPrivateKey__hash_algorithm
    except (ImportError, AttributeError) as err:
        print(f"moto_serialized: KMS Sign keeps ignoring MessageType=DIGEST ({err})", file=sys.stderr)
        return
    # Requests are served one at a time (see main), so one flag describes the request being handled.
    state = {"digest": False}

    def response_sign(self):
        state["digest"] = self._get_param("MessageType") == "DIGEST"
        try:
            return original_response(self)
        finally:
            state["digest"] = False

    def rsa_sign(self, message, signing_algorithm):
        if not state["digest"]:
            return original_rsa(self, message, signing_algorithm)
        pad, hash_algorithm = rsa_padding(self, signing_algorithm)
        return self.private_key.sign(message, pad, Prehashed(hash_algorithm))

    def ecdsa_sign(self, message, signing_algorithm):
        if not state["digest"]:
            return original_ecdsa(self, message, signing_algorithm)
        return self.private_key.sign(message, ec.ECDSA(Prehashed(ecdsa_hash(self, signing_algorithm))))

    responses.KmsResponse.sign = response_sign
    kms_utils.RSAPrivateKey.sign = rsa_sign
    kms_utils.ECDSAPrivateKey.sign = ecdsa_sign


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("listen on loopback only")
    make_transactions_cheap()
    make_queries_cheap()
    keep_gsi_indexes_current()
    make_kms_digest_signing_real()
    make_event_delivery_cheap()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialise the body inside the lock: the response is computed lazily otherwise.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, serialized, threaded=True)


if __name__ == "__main__":
    main()
