from tests.feedback.test_import_export import *
def test_peek(client):
    sign_in(client, DAN)
    response = upload(client, csv_bytes([row(), row(module="Casenotes"), row(submitted_at="31/02/2025")]))
    open("/tmp/imp/bad.html","w").write(response.text)
    sign_in(client, DAN)
    r = upload(client, csv_bytes([row(team="New Team")]))
    open("/tmp/imp/ok.html","w").write(client.get(r.headers["location"]).text)
    open("/tmp/imp/form.html","w").write(client.get("/admin/import").text)
    r = upload(client, b"x" * (importing.MAX_FILE_BYTES + 2 * 1024 * 1024))
    open("/tmp/imp/big.html","w").write(r.text)
