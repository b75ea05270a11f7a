"""The admin panel's Plots page: login required, CSRF checked, the same add_plot as POST /agro/plots
(read like onboarding answers, then advised like any plot), refusals that save nothing; and the
form in a real headless Chromium."""
from __future__ import annotations

import pytest

from admin.users import create_user
from backend.contacts import find_contact
from backend.plugins.agro import store
from tests.admin.conftest import PASSWORD, USERNAME, csrf_token
from tests.agro.conftest import PHONE, onboard
from tests.browser import chromium_page
from tests.servers import served_in_thread

PAGE = "/admin/agro/plots/"
RUNNER = "+51987000003"


@pytest.fixture
def panel(farm):
    """The farm's backend (agro plug-in, scripted model, recorded weather) with an admin signed in."""
    create_user(farm.db, USERNAME, PASSWORD)
    token = csrf_token(farm.client.get("/admin/login").text)
    signed = farm.client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.text
    return farm


def add(farm, token: str | None = None, **fields):
    token = token or csrf_token(farm.client.get(PAGE).text)
    return farm.client.post(PAGE, data={"phone": PHONE, **fields, "csrf_token": token})


def plot_names(farm, phone: str = PHONE) -> list[str]:
    return [p.name for p in store.plots(farm.db, find_contact(farm.db, phone).id)]


def test_the_page_needs_a_signed_in_admin(farm):
    onboard(farm)
    response = farm.client.get(PAGE)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    posted = farm.client.post(PAGE, data={"phone": PHONE, "lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hoy"})
    assert posted.status_code == 302 and "/admin/login" in posted.headers["Location"]
    assert farm.count("agro_plots") == 1  # the onboarding's own plot only


def test_an_admin_adds_a_plot_that_is_listed_and_advised(panel, model):
    onboard(panel)
    listed = panel.client.get(PAGE)
    assert listed.status_code == 200 and "lote 1" in listed.text and "Huaral" in listed.text  # the onboarding's plot
    added = add(panel, lote="Lote 2", cultivo="papa", fecha_siembra="hace 1 mes", variedad="Yungay",
                area="5000 m2", riego="aspersión 8 mm/h", suelo="arenoso", fuente_agua="pozo")
    assert added.status_code == 302, added.text
    page = panel.client.get(PAGE).text
    assert "Se agregó &#39;lote 2&#39; (papa) a +51987654321." in page
    row = page[page.index("<td class=\"chasqui-nowrap\">lote 2</td>"):].split("</tr>")[0]
    for shown in ("papa", "Yungay", "0.5", "Huaral", "arenoso", "aspersion · 8 mm/h", "pozo"):
        assert shown in row, (shown, row)
    assert plot_names(panel) == ["lote 1", "lote 2"]
    second = store.plots(panel.db, find_contact(panel.db, PHONE).id)[1]
    assert (second.crop, second.variety, second.area_ha, second.rate_mm_h) == ("papa", "Yungay", 0.5, 8)
    # Only this producer's plots, when a phone is given.
    assert "lote 2" in panel.client.get(PAGE, query_string={"phone": "+51 987 654 321"}).text

    answer = panel.say(PHONE, "¿Cuándo riego?")["model_output"]["respuesta_chat"]
    assert "(lote 1)" in answer and "tu papa (lote 2)" in answer


def test_refusals_say_why_keep_the_typed_values_and_save_nothing(panel):
    onboard(panel)
    panel.db.execute("INSERT INTO contacts (phone, name, domain, created_at, updated_at) "
                     "VALUES (?, 'Lucía', 'running', 0, 0)", [RUNNER])
    good = {"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hace 1 mes"}

    invalid = add(panel, **{**good, "phone": "no es un número"})
    assert invalid.status_code == 400 and "No se guardó nada" in invalid.text
    for phone in (RUNNER, "+51911111111"):
        unknown = add(panel, **{**good, "phone": phone})
        assert unknown.status_code == 404 and f"ningún productor con el teléfono {phone}" in unknown.text

    crop = add(panel, **{**good, "cultivo": "mango del espacio"})
    assert crop.status_code == 400
    assert "mango del espacio" in crop.text and "(campo: Cultivo)" in crop.text and "is-invalid" in crop.text
    assert 'value="hace 1 mes"' in crop.text and 'value="mango del espacio"' in crop.text  # what was typed stays
    future = add(panel, **{**good, "fecha_siembra": "15/08/2031"})
    assert future.status_code == 400 and "no puede estar en el futuro" in future.text and "Fecha de siembra" in future.text
    missing = add(panel, lote="lote 2", cultivo="papa")
    assert missing.status_code == 400 and "corrija los campos marcados abajo" in missing.text
    forged = add(panel, token="forged", **good)
    assert forged.status_code == 400 and "no vino de este panel" in forged.text
    assert plot_names(panel) == ["lote 1"]  # the onboarding's plot, made by the listing

    taken = add(panel, **{**good, "lote": "Lote 1"})
    assert taken.status_code == 409 and "Ya tienes un lote llamado «lote 1»" in taken.text
    assert plot_names(panel) == ["lote 1"] and panel.count("agro_plots") == 1


# --- the form in a real browser ---------------------------------------------------------------

@pytest.fixture
def served(farm):
    """The farm's backend served by werkzeug on a loopback port; stopped at teardown."""
    create_user(farm.db, USERNAME, PASSWORD)
    with served_in_thread(farm.app, "agro-admin-test-server") as url:
        yield url


@pytest.mark.timeout(180)
def test_an_admin_adds_a_plot_in_a_browser(farm, served, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    onboard(farm)
    with chromium_page(tmp_path / "chromium-profile", 1366, 900) as page:
        page.goto(f"{served}{PAGE}")
        expect(page).to_have_url(f"{served}/admin/login?next=/admin/agro/plots/")
        page.fill("#username", USERNAME)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.click("nav >> text=Parcelas")
        expect(page.locator("#plots tbody tr")).to_have_count(1)

        page.fill("#phone", PHONE)
        page.fill("#lote", "lote 2")
        page.fill("#cultivo", "papa")
        page.fill("#fecha_siembra", "hace 1 mes")
        page.fill("#riego", "aspersión 8 mm/h")
        page.click("#plot-form button[type=submit]")
        expect(page.locator(".alert-success")).to_contain_text("Se agregó 'lote 2' (papa)")
        expect(page.locator("#plots tbody tr")).to_have_count(2)
        new_row = page.locator("#plots tbody tr", has_text="lote 2")
        expect(new_row).to_contain_text(PHONE)
        expect(new_row).to_contain_text("8 mm/h")
    assert plot_names(farm) == ["lote 1", "lote 2"]
