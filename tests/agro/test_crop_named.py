"""The crop a producer's message names: the first one when it names two, its longest name there."""
from __future__ import annotations

import pytest

from backend.plugins.agro.profile import find_crop


@pytest.mark.parametrize("text, crop", [
    ("siembro maiz y quinua en Cusco", "maiz"),  # was quinua: the longest name anywhere won
    ("tengo quinua y maíz", "quinua"),
    ("Papas nativas en Huancavelica", "papa"),
    ("cebada y habas", "cebada"),
    ("no tengo chacra todavia", None),
])
def test_the_first_crop_named_is_the_one_noted(text, crop):
    assert find_crop(text) == crop
