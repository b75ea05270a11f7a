"""The Garmin Connect activities CSV: the fixtures in tests/running/data copy the layout of real
exports (English and Spanish headers, quoting, "--", thousands separators; see garmin_csv's
docstring for where that layout was checked); the inline cases cover number formats and units."""
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from backend.plugins.running.garmin_csv import (CsvFormatError, ImportReport, is_running, parse_activities,
                                                parse_duration, parse_number)
from backend.plugins.running.run_record import InvalidRun, RunRecord, dedupe_key

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 11, 20)
SHORT_HEADER = "Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR,Avg Pace\n"


def parse_file(name, **options):
    return parse_activities((DATA / name).read_bytes(), TODAY, **options)


def test_english_export():
    report = parse_file("activities_en.csv")
    summary = [(r.day.isoformat(), r.distance_km, r.duration_s, r.notes) for r in report.runs]
    assert summary == [
        ("2026-11-18", 10.02, 3312.0, "Cusco Running"),
        ("2026-11-14", 8.0, 2640.5, "Treadmill Running"),  # "00:44:00.5": decimals kept
        ("2026-11-10", 21.1, 7087.0, "Cusco - Long Run"),  # calories "1,530" do not matter
        ("2026-11-08", 14.3, 7540.0, "Sacsayhuamán Trail"),
        ("2026-11-06", 6.64, 1791.0, "Cusco Track Running"),  # "6,640" metres on the track
    ]
    assert report.refused == [
        (3, "no es una carrera: Cycling"),
        (5, "no es una carrera: Strength Training"),
        (6, "tiempo no válido: '--'"),
        (8, "duplicada (igual que la línea 7)"),
        (11, "no es una carrera: Walking"),
        (12, "La fecha 01/10/2025 es de hace más de un año."),
        (13, "Un ritmo de 0:03 min/km es más rápido que el récord mundial; revisa la distancia o el tiempo."),
    ]


def test_runs_are_garmin_records_with_a_stable_id():
    report = parse_file("activities_en.csv")
    first = report.runs[0]
    assert first.source == "garmin"
    assert first.external_id == "garmin:2026-11-18T07:12:45|10.02km|3312s"
    assert dedupe_key(first) == first.external_id
    assert parse_file("activities_en.csv").runs == report.runs  # same file, same ids


def test_spanish_export_with_byte_order_mark():
    report = parse_file("activities_es.csv")
    assert [(r.day.isoformat(), r.distance_km, r.duration_s) for r in report.runs] == [
        ("2026-11-17", 8.78, 3235.0),
        ("2026-11-15", 4.88, 1805.0),  # Entrenamiento en cinta
        ("2026-11-09", 12.81, 4759.0),  # "Trail running", untranslated in real Spanish exports
        ("2026-11-05", 7.64, 2487.3),
    ]
    assert report.refused == [(4, "no es una carrera: Ciclismo"), (7, "no es una carrera: Caminata")]


def test_summary_in_spanish():
    summary = parse_file("activities_en.csv").summary_es()
    assert summary.startswith("5 carreras importadas, 7 rechazadas (línea 3: no es una carrera: Cycling; "
                              "línea 5: no es una carrera: Strength Training; línea 6: tiempo no válido: '--'; ")
    assert "… y 2 más)." in summary
    assert summary.endswith("Leí las distancias en km: el archivo de Garmin no dice la unidad.")


@pytest.mark.parametrize("report, expected", [
    (ImportReport([], []), "0 carreras importadas. Leí las distancias en km"),
    (ImportReport([RunRecord(TODAY, 5, 1500)], [(2, "no es una carrera: Yoga")], "km", False),
     "1 carrera importada, 1 rechazada (línea 2: no es una carrera: Yoga)."),
    (ImportReport([], [], "mi", False), "0 carreras importadas. Las distancias venían en millas"),
])
def test_summary_wording(report, expected):
    assert report.summary_es().startswith(expected)


def test_decimal_comma_export():
    # Row shapes from a real export of an account with English labels and decimal commas.
    text = (SHORT_HEADER
            + 'Treadmill Running,2026-11-16 09:27:13,false,"Tempo 40min 4:30","10,50","702","00:51:56","146","161","4:57"\n'
            + 'Running,2026-11-17 19:00:35,false,"Easy","8,12","1.133","00:45:10,5","121","169","5:34"\n'
            + 'Cycling,2026-11-18 14:21:25,false,"Vilnius Cycling","12,42","264","00:58:36","85","136","--"\n')
    report = parse_activities(text, TODAY)
    assert [(r.distance_km, r.duration_s) for r in report.runs] == [(10.5, 3116.0), (8.12, 2710.5)]
    assert report.refused == [(4, "no es una carrera: Cycling")]


def test_semicolons_and_windows_encoding_from_an_excel_resave():
    text = ("Tipo de actividad;Fecha;Título;Distancia;Tiempo\n"
            "Carrera;2026-11-18 07:00:00;Carrera en Cañete;10,02;00:55:12\n")
    report = parse_activities(text.encode("cp1252"), TODAY)
    assert [(r.distance_km, r.notes) for r in report.runs] == [(10.02, "Carrera en Cañete")]


def test_miles_named_in_the_header_are_converted():
    text = ("Activity Type,Date,Title,Distance (mi),Time\n"
            "Running,2026-11-18 07:00:00,Run,6.21,00:50:12\n")
    report = parse_activities(text, TODAY)
    assert report.runs[0].distance_km == pytest.approx(9.994, abs=0.001)
    assert (report.distance_unit, report.unit_assumed) == ("mi", False)
    assert "millas" in report.summary_es()


def test_miles_written_in_the_cells_are_converted():
    text = SHORT_HEADER + 'Running,2026-11-18 07:00:00,false,"Run","3.10 mi","300","00:28:00","150","160","9:02"\n'
    report = parse_activities(text, TODAY)
    assert report.runs[0].distance_km == pytest.approx(4.989, abs=0.001)
    assert report.unit_assumed is False


def test_the_caller_can_say_the_account_uses_miles():
    text = SHORT_HEADER + 'Running,2026-11-18 07:00:00,false,"Run","6.21","300","00:50:12","150","160","8:05"\n'
    assert parse_activities(text, TODAY).runs[0].distance_km == 6.21
    report = parse_activities(text, TODAY, distance_unit="mi")
    assert report.runs[0].distance_km == pytest.approx(9.994, abs=0.001)
    assert not report.unit_assumed
    with pytest.raises(ValueError):
        parse_activities(text, TODAY, distance_unit="leagues")


def test_an_activity_id_column_is_used_when_present():
    text = ("Activity Type,Date,Distance,Time,Activity ID\n"
            "Running,2026-11-18 07:00:00,10.00,00:50:00,17042424242\n"
            "Running,2026-11-18 07:00:00,10.00,00:50:00,17042424242\n")
    report = parse_activities(text, TODAY)
    assert report.runs[0].external_id == "garmin:17042424242"
    assert report.refused == [(3, "duplicada (igual que la línea 2)")]


@pytest.mark.parametrize("row, reason", [
    ('Running,2026-11-18 07:00:00,false,"x","--","1","00:30:00","1","1","--"', "sin distancia"),
    ('Running,2026-11-18 07:00:00,false,"x","diez","1","00:30:00","1","1","--"', "distancia no válida: 'diez'"),
    ('Running,2026-11-18 07:00:00,false,"x","0.00","1","00:30:00","1","1","--"',
     "La distancia debe ser mayor que 0 km."),
    ('Running,18/11/2026,false,"x","5.00","1","00:30:00","1","1","--"', "fecha no válida: '18/11/2026'"),
    ('Running,2026-11-21 07:00:00,false,"x","5.00","1","00:30:00","1","1","--"', "La fecha 21/11/2026 está en el futuro."),
    ('Running,2026-11-18 07:00:00,false,"x","5.00","1","00:75:00","1","1","--"', "tiempo no válido: '00:75:00'"),
    ('Running,2026-11-18 07:00:00', "fila incompleta"),
    (',2026-11-18 07:00:00,false,"x","5.00","1","00:30:00","1","1","--"', "no es una carrera: sin tipo"),
])
def test_bad_rows_are_refused_with_a_reason(row, reason):
    report = parse_activities(SHORT_HEADER + row + "\n", TODAY)
    assert report.runs == []
    assert report.refused == [(2, reason)]


def test_line_numbers_count_blank_lines_and_wrapped_cells():
    text = (SHORT_HEADER + "\n"
            + 'Running,2026-11-18 07:00:00,false,"x","5.0\n0","1","00:30:00","1","1","--"\n'
            + 'Cycling,2026-11-18 07:00:00,false,"x","20.00","1","00:50:00","1","1","--"\n')
    assert parse_activities(text, TODAY).refused == [
        (3, "distancia no válida: '5.0\\n0'"), (5, "no es una carrera: Cycling")]


def test_a_header_without_rows_imports_nothing():
    report = parse_activities(SHORT_HEADER, TODAY)
    assert (report.runs, report.refused) == ([], [])


@pytest.mark.parametrize("data, message", [
    ((DATA / "strava_activities.csv").read_bytes(), "faltan columnas .*: Date, Time"),
    ("Tipo de actividad,Fecha,Título,Distancia\nCarrera,2026-11-18 07:00:00,x,5.0\n", "faltan columnas .*: Tiempo"),
    ("Aktivitetstype,Dato,Favorit,Titel,Distance,Kalorier,Tid\nLøb,2026-11-18 07:00:00,false,x,5.0,300,00:30:00\n",
     "otro idioma"),
    ("nombre,edad\nAna,30\n", "no encuentro las columnas Activity Type, Date, Distance, Time"),
    (b"", "vacío"),
    ("  \n\n", "vacío"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binario"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "binario"),
    ("\x01\x02\x03\x04" * 20, "binario"),
    (b"x" * (5 * 1024 * 1024 + 1), "5 MB"),
    ('Activity Type,Date,Distance,Time\n"Running,2026', "mal formado"),
])
def test_files_that_are_not_garmin_exports(data, message):
    with pytest.raises(CsvFormatError, match=message):
        parse_activities(data, TODAY)


@pytest.mark.parametrize("activity_type", [
    "Running", "Treadmill Running", "Trail Running", "Track Running", "Indoor Running", "Virtual Run",
    "Ultra Run", "running", "Carrera", "Entrenamiento en cinta", "Trail running", "Carrera en pista",
    "Carrera de montaña",
])
def test_running_types(activity_type):
    assert is_running(activity_type)


@pytest.mark.parametrize("activity_type", [
    "Cycling", "Walking", "Hiking", "Strength Training", "Pool Swimming", "Ciclismo", "Caminata",
    "Senderismo", "Natación", "Entrenamiento de fuerza", "Indoor Rowing", "Runtastic import", "",
])
def test_other_types(activity_type):
    assert not is_running(activity_type)


@pytest.mark.parametrize("text, seconds", [
    ("00:55:12", 3312), ("01:05:30", 3930), ("55:20", 3320), ("00:04:53.4", 293.4),
    ("00:03:42,5", 222.5), ("3:02:07", 10927), (" 00:30:00 ", 1800),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["--", "--:--:--", "", "1:75", "00:61:00", "abc", "1h05", "55"])
def test_parse_duration_refuses(text):
    with pytest.raises(InvalidRun, match="tiempo no válido"):
        parse_duration(text)


@pytest.mark.parametrize("text, decimal, value", [
    ("8.78", ".", 8.78), ("1,381", ".", 1381), ("10,50", ",", 10.5), ("9.522", ",", 9522),
    ("'-16", ".", -16), ("1,234.5", ".", 1234.5), ("1.234,5", ",", 1234.5),
])
def test_parse_number(text, decimal, value):
    assert parse_number(text, decimal) == value


@settings(max_examples=150, deadline=None)
@given(hours=st.integers(0, 30), minutes=st.integers(0, 59), seconds=st.integers(0, 59),
       tenths=st.one_of(st.none(), st.integers(0, 9)), comma=st.booleans())
def test_parse_duration_reads_what_garmin_writes(hours, minutes, seconds, tenths, comma):
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if tenths is not None:
        text += ("," if comma else ".") + str(tenths)
    expected = hours * 3600 + minutes * 60 + seconds + (tenths or 0) / 10
    assert parse_duration(text) == pytest.approx(expected)


@settings(max_examples=150, deadline=None)
@given(value=st.decimals(min_value=0, max_value=999_999, places=2), comma=st.booleans())
def test_parse_number_reads_both_number_formats(value, comma):
    text = f"{value:,.2f}"
    if comma:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_number(text, "," if comma else ".") == pytest.approx(float(value))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.text(max_size=200).map(lambda rest: SHORT_HEADER + rest)))
def test_any_input_gives_a_report_or_a_format_error(data):
    try:
        report = parse_activities(data, TODAY)
    except CsvFormatError as problem:
        assert str(problem)
        return
    for record in report.runs:
        assert record.source == "garmin" and record.external_id
    assert all(isinstance(line, int) and reason for line, reason in report.refused)
