"""`POST /running/import/garmin?phone=+51987654321`: a Garmin activities CSV export as the body
(text/csv) or as the `file` field of a multipart form. Answers what was imported and what was
refused, line by line; a file that is not a Garmin export is a 400 and saves nothing."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.plugin_api import Store, core
from backend.plugins.running.garmin_csv import CsvFormatError
from backend.plugins.running.garmin_import import MAX_FILE_BYTES, import_garmin
from chasqui.http_errors import ApiError, bad_request


def create_running_blueprint(store: Store) -> Blueprint:
    # template_folder: the admin page (admin_view.py) renders this plug-in's own template.
    running = Blueprint("running", __name__, template_folder="templates")

    @running.post("/running/import/garmin")
    def import_from_garmin():
        contact = core.domain_contact(store.db, request.args.get("phone"), "running", "runner")
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else request.get_data(cache=False)
        if not data:
            raise bad_request("send the CSV as the body or as the 'file' field", "file")
        if len(data) > MAX_FILE_BYTES:
            raise ApiError(413, "file_too_large", f"a Garmin export over {MAX_FILE_BYTES // 2**20} MB", "file")
        try:
            return jsonify(import_garmin(store.db, contact, data, contact.local_today()))
        except CsvFormatError as problem:
            raise bad_request(str(problem), "file", code="not_a_garmin_export") from None

    return running
