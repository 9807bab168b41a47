"""Product photos in an S3-compatible bucket (moto's server): uploaded through the site, loaded from the bucket."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from ktt_market.core import security, storage
from ktt_market.core.images import new_key
from tests.conftest import post_form
from tests.support.factories import PASSWORD
from tests.support.s3 import CREDENTIALS, REGION, MotoServer
from tests.support.services import free_port

pytestmark = pytest.mark.core


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(moto):
    return moto.create_bucket()


@pytest.fixture
def s3_app(app, moto, bucket, aws_credentials):
    """The application configured to keep its photos in the bucket, on the session's database."""
    from ktt_market import create_app
    from ktt_market.extensions import db

    keep = ("SQLALCHEMY_DATABASE_URI", "SERVER_NAME", "UPLOAD_FOLDER", "RATELIMIT_STORAGE_URI", "CELERY")
    settings = {k: v for k, v in moto.settings(bucket).items() if k.startswith("KTT_")}
    s3 = create_app({"TESTING": True, **{k: app.config[k] for k in keep}, **settings})
    yield s3
    with s3.app_context():
        db.engine.dispose()
    app.extensions["celery"].set_default()  # create_app made the new app's Celery the default


def jpeg(size=(900, 600), colour="#b5651d") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def test_s3_storage_saves_opens_and_deletes(moto, bucket, aws_credentials):
    store = storage.S3Storage(bucket, public_url=f"{moto.url}/{bucket}", endpoint_url=moto.url, region=REGION)
    key = new_key("webp")
    store.save(key, b"RIFF....WEBP", "image/webp")
    assert store.open(key) == b"RIFF....WEBP"
    assert store.exists(key)
    head = moto.client().head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert store.url(key) == f"{moto.url}/{bucket}/{key}"
    store.delete(key)
    store.delete(key)  # a second delete is not an error
    assert not store.exists(key)
    with pytest.raises(FileNotFoundError):
        store.open(key)


@pytest.mark.parametrize("key", ["../secret.webp", "a" * 32 + ".svg", "x.webp", "ab/" + "a" * 32])
def test_s3_storage_takes_only_server_chosen_keys(moto, bucket, aws_credentials, key):
    store = storage.S3Storage(bucket, public_url="https://cdn.example.vn", endpoint_url=moto.url, region=REGION)
    with pytest.raises(ValueError):
        store.save(key, b"x", "image/webp")
    assert moto.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_store_that_does_not_answer_fails_within_seconds(aws_credentials):
    from botocore.exceptions import EndpointConnectionError

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = storage.S3Storage("photos", public_url="https://cdn.example.vn", endpoint_url=closed, region=REGION)
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError):
        store.save(new_key("webp"), b"x", "image/webp")
    assert time.monotonic() - started < 10  # three attempts with botocore's backoff, then the error


def test_public_address_and_content_security_policy():
    cdn = {"KTT_STORAGE": "s3", "KTT_S3_BUCKET": "anh", "KTT_S3_PUBLIC_URL": "https://cdn.ktt.vn/anh/"}
    assert storage.public_base_url(cdn) == "https://cdn.ktt.vn/anh"
    assert "img-src 'self' data: https://cdn.ktt.vn;" in security.content_security_policy(cdn)
    minio = {"KTT_STORAGE": "s3", "KTT_S3_BUCKET": "anh", "KTT_S3_ENDPOINT_URL": "https://s3.htx.vn:9000"}
    assert storage.public_base_url(minio) == "https://s3.htx.vn:9000/anh"
    assert "img-src 'self' data: https://s3.htx.vn:9000;" in security.content_security_policy(minio)
    aws = {"KTT_STORAGE": "s3", "KTT_S3_BUCKET": "anh", "KTT_S3_REGION": "ap-southeast-1"}
    assert storage.public_base_url(aws) == "https://anh.s3.ap-southeast-1.amazonaws.com"
    assert security.content_security_policy({"KTT_STORAGE": "local"}) == security.CSP


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KTT_STORAGE": "s3"}, "KTT_S3_BUCKET"),
        ({"KTT_STORAGE": "ftp"}, "local or s3"),
        ({"KTT_PROXY_HOPS": "one"}, "KTT_PROXY_HOPS"),
    ],
)
def test_a_wrong_setting_stops_the_start(monkeypatch, tmp_path, env, message):
    from ktt_market.config import load_config

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=message):
        load_config(tmp_path)


def test_behind_a_proxy_the_app_sees_the_client_and_https(app):
    from ktt_market import create_app
    from ktt_market.extensions import db

    keep = ("SQLALCHEMY_DATABASE_URI", "RATELIMIT_STORAGE_URI", "CELERY", "UPLOAD_FOLDER")
    proxied = create_app({"TESTING": True, "KTT_PROXY_HOPS": 1, **{k: app.config[k] for k in keep}})
    try:
        from flask import request

        proxied.add_url_rule("/_seen", "seen", lambda: f"{request.remote_addr} {request.scheme} {request.host}")
        headers = {
            "X-Forwarded-For": "10.0.0.9, 203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "ktt.vn",
        }
        seen = proxied.test_client().get("/_seen", headers=headers).get_data(as_text=True)
        # Only the entry our one proxy added is believed; the client could have written the first.
        assert seen == "203.0.113.7 https ktt.vn"
        assert app.test_client().get("/healthz", headers=headers).status_code == 200
    finally:
        with proxied.app_context():
            db.engine.dispose()
        app.extensions["celery"].set_default()


def test_photo_uploaded_through_the_site_lives_in_the_bucket_and_pages_point_there(
    s3_app, moto, bucket, make_unit, make_staff, make_user, make_product
):
    from ktt_market.catalog.models import ProductImage
    from ktt_market.extensions import db

    unit = make_unit()
    manager = make_staff(unit, make_user(locale="en"))
    product = make_product(unit, name="Bưởi da xanh")
    client = s3_app.test_client()
    assert post_form(client, "/account/login", {"email": manager.email, "password": PASSWORD}).status_code == 302
    page = f"/manage/products/{product.id}/images"
    response = post_form(
        client, page, {"file": (io.BytesIO(jpeg()), "buoi.jpg"), "alt": "Trái bưởi"}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with s3_app.app_context():
        image = db.session.scalar(select(ProductImage))
        key, thumb_key = image.key, image.thumb_key
        db.session.remove()

    # Both the photo and its thumbnail are objects of the bucket, typed and cached for good.
    s3 = moto.client()
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted([key, thumb_key])
    for stored in (key, thumb_key):
        head = s3.head_object(Bucket=bucket, Key=stored)
        assert head["ContentType"] == storage.content_type_of(stored)
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert not list((Path(s3_app.config["UPLOAD_FOLDER"]) / "media").glob(f"*/{key}"))

    # The public product page loads them from the bucket's address, which the CSP allows.
    public = f"{moto.url}/{bucket}"
    shown = s3_app.test_client().get(f"/p/{product.id}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert re.search(rf'<img src="{re.escape(public)}/{thumb_key}"', html), html[:2000]
    assert f'href="{public}/{key}"' in html
    assert f"img-src 'self' data: {moto.url};" in shown.headers["Content-Security-Policy"]
    fetched = requests.get(f"{public}/{key}", timeout=10)  # as a browser does, without credentials
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == storage.content_type_of(key)
    assert Image.open(io.BytesIO(fetched.content)).size == (image.width, image.height)
    assert s3_app.test_client().get(f"/media/{key}").status_code == 404  # no local copy is served

    # Removing the photo removes both objects.
    assert post_form(client, f"{page}/{image.id}/delete").status_code == 302
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert f"{public}/" not in s3_app.test_client().get(f"/p/{product.id}").get_data(as_text=True)
