def test_home_is_vietnamese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert 'lang="vi"' in page
