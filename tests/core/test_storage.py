"""Media storage: server-chosen keys only, files in the upload folder, served with long cache headers."""

from __future__ import annotations

import pytest

from ktt_market.core import storage
from ktt_market.core.images import new_key

pytestmark = pytest.mark.core


def test_local_storage_saves_opens_and_deletes(tmp_path):
    store = storage.LocalStorage(tmp_path)
    key = new_key("webp")
    store.save(key, b"RIFF....WEBP", "image/webp")
    assert store.open(key) == b"RIFF....WEBP"
    assert (tmp_path / key[:2] / key).is_file()
    store.delete(key)
    store.delete(key)  # a second delete is not an error
    with pytest.raises(FileNotFoundError):
        store.open(key)
    assert [p.name for p in (tmp_path / key[:2]).iterdir()] == []  # no temporary file left behind


@pytest.mark.parametrize(
    "key", ["../secret.webp", "a" * 32 + ".svg", "A" * 32 + ".webp", "x.webp", "", "ab/" + "a" * 32]
)
def test_only_server_chosen_keys_are_accepted(tmp_path, key):
    with pytest.raises(ValueError):
        storage.LocalStorage(tmp_path).save(key, b"x", "image/webp")


def test_the_application_storage_is_local_under_the_upload_folder(app):
    with app.app_context():
        store = storage.get_storage()
        assert isinstance(store, storage.LocalStorage)
        assert str(store.root).startswith(app.config["UPLOAD_FOLDER"])
        assert storage.get_storage() is store


def test_media_route_serves_stored_files_with_cache_headers(app, client):
    key = new_key("jpg")
    with app.test_request_context():
        storage.get_storage().save(key, b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
        url = storage.media_url(key)
    assert url == f"/media/{key}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert response.data.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    "path", ["/media/" + "0" * 32 + ".webp", "/media/../secret_key", "/media/%2e%2e/secret_key", "/media/x.html"]
)
def test_media_route_answers_404_for_anything_else(client, path):
    assert client.get(path).status_code == 404


def test_templates_have_media_url(app):
    assert app.jinja_env.globals["media_url"] is storage.media_url
