import pytest

from ktt_market.core import uploads

pytestmark = pytest.mark.core


def test_uploads_are_bound_to_their_owner_and_expire(tmp_path, monkeypatch):
    store = uploads.PendingUploads("member-imports", base=tmp_path)
    token = store.save(b"abc", filename="so-thanh-vien.xlsx", unit_id=1, user_id=2)
    assert store.load(token, unit_id=1, user_id=2) == (b"abc", "so-thanh-vien.xlsx")
    assert store.load(token, unit_id=1, user_id=3) is None
    assert store.load(token, unit_id=9, user_id=2) is None
    assert store.load(token, user_id=2) is None  # a partial owner is another owner
    assert store.load("../../etc/passwd", unit_id=1, user_id=2) is None
    real_time = uploads.time.time
    monkeypatch.setattr(uploads.time, "time", lambda: real_time() + uploads.MAX_AGE_SECONDS + 1)
    assert store.load(token, unit_id=1, user_id=2) is None
    store.discard(token)
    assert list((tmp_path / "member-imports").iterdir()) == []


def test_areas_keep_their_uploads_apart(tmp_path):
    token = uploads.PendingUploads("imports", base=tmp_path).save(b"x", user_id=1)
    assert uploads.PendingUploads("member-imports", base=tmp_path).load(token, user_id=1) is None
