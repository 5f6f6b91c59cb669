"""A primary and its synchronous hot standby on this machine (two new clusters, dropped afterwards): the
multi-host URL, a listing read on the standby, a promotion (issue 22).  The full figure, 4 writers through a
promotion, is `make reliability` (reliability/failover.py).

Skipped, with the reason in one line, where clusters cannot be made (no pg_createcluster, not root).
"""

import pytest

from chemo import audit, roles
from chemo.db import StoreError, open_store
from chemo.records import add_lab, add_patient, list_labs
from reliability.pgpair import Pair, unavailable

WHY = unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")


@pytest.fixture(scope="module")
def pair():
    with Pair("remote_apply") as made:
        with open_store(made.url()) as store:
            roles.add_user(store, "admin", "admin", "pharmacist")
            roles.add_user(store, "admin", "nurse-0", "nurse")
            add_patient(store, "admin", mrn="F1", name="Failover patient", sex="female", born="1970-01-01",
                        height="170 cm", weight="70 kg")
        yield made


def test_a_standby_has_applied_every_acknowledged_write_and_a_listing_reads_there(pair):
    with open_store(pair.url()) as store:
        assert store.one("SELECT inet_server_port() AS p")["p"] == pair.primary_port  # the writable host
        row = add_lab(store, "nurse-0", "F1", "anc", "1.1 10^9/L")
    with open_store(pair.url(), may_lag=True) as listing:  # remote_apply: applied there before the ack
        assert listing.one("SELECT inet_server_port() AS p")["p"] == pair.standby_port
        assert [(r["id"], r["value_text"]) for r in list_labs(listing, "F1")] == [(row["id"], "1.1 10^9/L")]


def test_after_a_promotion_the_same_url_and_session_write_to_the_new_primary(pair):
    with open_store(pair.url()) as session:
        first = add_lab(session, "nurse-0", "F1", "platelets", "150 10^9/L")
        pair.stop_primary()
        with pytest.raises(StoreError, match=r"the connection to the server was lost|cannot reach") as cut:
            add_lab(session, "nurse-0", "F1", "platelets", "151 10^9/L")  # no server takes writes yet
        assert "\n" not in str(cut.value) and cut.value.exit_code == 3
        pair.promote()
        second = add_lab(session, "nurse-0", "F1", "platelets", "152 10^9/L")  # reconnected through the URL
        assert session.one("SELECT inet_server_port() AS p")["p"] == pair.standby_port
        values = {r["id"]: r["value_text"] for r in list_labs(session, "F1")}
        assert values[first["id"]] == "150 10^9/L" and values[second["id"]] == "152 10^9/L"
        assert "151 10^9/L" not in values.values()
        assert audit.verify(session)[1] == []
