"""``privacyops policy render``: the rendering of each version carries every fact of its text.

The facts are extracted from the seed texts themselves (shared/seeds/policy-version-N.txt and
the published page for the privacy-policy links), not from the manifest, so a fact the
manifest dropped shows up here as a missing line.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from privacyops.errors import InvalidInput
from privacyops.policy import default_policy_book
from privacyops.policy.render import render_policy

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent.parent / "shared" / "seeds"
if not SEEDS.is_dir():  # worktrees live in /work/wt/<name>, the main repo in /work/main
    SEEDS = Path("/work/shared/seeds")
VERSIONS = ("v1", "v2", "v3")
BOOK = default_policy_book()

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed texts are not here")


def seed_text(version: str) -> str:
    return (SEEDS / f"policy-version-{version[1:]}.txt").read_text(encoding="utf-8")


def norm(text: str) -> str:
    """Compare text as a reader would: quotes, spaces, case and '/' spacing do not count."""
    text = html.unescape(text).replace("\u00a0", " ").replace("&nbsp", " ")
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s*/\s*", " / ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def section(text: str, start: str, end: str) -> str:
    a = text.index(start)
    return text[a : text.index(end, a + len(start))]


@pytest.fixture(scope="module", params=[(v, f) for v in VERSIONS for f in ("md", "html")])
def case(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    version, fmt = request.param
    rendered = render_policy(BOOK.get(version), fmt)
    return version, seed_text(version), norm(rendered)


def missing(facts: list[str], rendered: str) -> list[str]:
    return [f for f in facts if norm(f) not in rendered]


# --- what the text says, extracted from it ---------------------------------------------------


def tracker_entries(text: str) -> list[tuple[str, str]]:
    """'Name (Legal entity)' headings of sections 2.2.1-2.2.3."""
    found = []
    for line in section(text, "2.2.1", "Purposes and legal basis").splitlines():
        m = re.match(r"^([A-Z][\w .&/-]*?) \(([^()]*)\)", line)
        if m and len(line) < 200:
            found.append((m.group(1), m.group(2).rstrip(".")))
    return found


def linked_services(text: str) -> list[str]:
    """Every 'Service (Privacy Policy)' of sections 3-7."""
    part = section(text, "3. Data we gather from our web forms", "8. General data processing")
    names = re.findall(r"([A-Z][\w.]+(?:,? [A-Z][\w.]+)*)\s*\(Privacy Policy\)", part)
    return sorted(set(names))


def storage_services(text: str) -> list[str]:
    m = re.search(r"cloud services provided by ([^.]+?) and on other services", text)
    assert m, "section 8 names the storage services"
    return [s.strip() for s in m.group(1).split(",") if s.strip()]


def retention_periods(text: str) -> list[str]:
    return re.findall(r"to (\d+ years(?: from [^.]+)?)\.", text)


def right_titles(text: str) -> list[str]:
    part = section(text, "9. Your rights", "10. Data security")
    return [
        line.rstrip(".")
        for line in part.splitlines()
        if re.match(r"^(The right|Withdrawal of consent|Right to file a complaint)", line)
        and line.endswith(".")
    ]


def right_grounds(text: str) -> list[str]:
    part = section(text, "9. Your rights", "10. Data security")
    grounds = []
    for start, end in (
        ("under the following reasons:", "The right to restrict processing."),
        ("applies to the following cases:", "If we have disclosed"),
        ("applies in the following circumstances:", "Withdrawal of consent."),
    ):
        for line in section(part, start, end).splitlines()[1:]:
            if line.strip():
                grounds.append(line.split(" (")[0].strip())
    return grounds


def contacts(text: str) -> list[str]:
    facts = re.findall(r"[\w.+-]+@[\w-]+\.[a-z]+", text)
    facts += re.findall(r"\+\d[\d ]{6,}\d", text)
    facts += re.findall(r"Org\. num\.: ([\d ]+\d)", text)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line == "Altoros Development LLC:":
            facts.append(lines[i + 1])  # the street address
        if line == "EEA Representative:":
            facts.extend(x.rstrip(".") for x in lines[i + 1 : i + 4] if not x.startswith("Phone"))
    return sorted(set(facts))


def entities(text: str) -> list[str]:
    m = re.search(r"refer to (.+?)\.? \(Check out", text)
    assert m
    return [e.strip() for e in re.split(r", and |, ", m.group(1))]


def offices(text: str) -> list[str]:
    m = re.search(r"offices in (.+?)\. ", text)
    assert m
    plain = re.sub(r"\([^)]*\)", "", m.group(1))
    return [o.strip() for o in re.split(r",\s*(?:and )?", plain) if o.strip()]


def section_titles(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"(?m)^(1[0-2]|[1-9])\. [A-Z][^\n]+$", text)]


def page_urls(version: str) -> list[str]:
    """The privacy-policy links of this version's block of the published page."""
    page = (SEEDS / "000_34080cc2245de10f.txt").read_text(encoding="utf-8")
    starts = [page.index("policy-aside-mobile")] + [
        m.start() for m in re.finditer(r'class="policy-main-inner"', page)
    ]
    blocks = dict(zip(VERSIONS, starts, strict=True))
    i = VERSIONS.index(version)
    end = starts[i + 1] if i + 1 < len(starts) else page.index("We Deliver", starts[i])
    hrefs = re.findall(r'href="(https?://[^"]+)"', page[blocks[version] : end])
    skip = ("altoros", "wikipedia.org")
    return sorted({html.unescape(h) for h in hrefs if not any(s in h for s in skip)})


# --- the tests -------------------------------------------------------------------------------


def test_extraction_finds_the_facts() -> None:
    """The extractors themselves work (so the tests below cannot pass on empty lists)."""
    v1, v3 = seed_text("v1"), seed_text("v3")
    assert len(tracker_entries(v1)) == 22
    assert len(tracker_entries(v3)) == 23  # MRP
    assert {"Skype", "Azets AS", "Meetup.com", "Drift.com, Inc."} <= set(linked_services(v3))
    assert storage_services(v3)[:3] == ["Google", "Amazon", "Hubspot"]
    assert "10 years from last event you have been registered" in retention_periods(v1)
    assert "6 years from last Service delivery" in retention_periods(v3)
    assert len(right_titles(v3)) == 8
    assert len(right_grounds(v3)) == 14
    assert "+37517 3880132" in contacts(v1)
    assert "9 Dombrovskaya str., Office 5.1.4, Minsk, Belarus, 220140" in contacts(v1)
    assert "Altoros Poland" in entities(v3)
    assert "Belarus" in offices(v1)
    assert "Poland" in offices(v3)
    assert len(section_titles(v3)) == 12
    assert len(page_urls("v3")) >= 30


def test_every_processor_and_its_legal_entity(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    names = [name for name, _ in tracker_entries(text)]
    legal = [entity for _, entity in tracker_entries(text)]
    assert missing(names, rendered) == []
    assert missing(legal, rendered) == []
    assert missing(linked_services(text), rendered) == []
    assert missing(storage_services(text), rendered) == []


def test_every_privacy_policy_link(case: tuple[str, str, str]) -> None:
    version, _, rendered = case
    assert missing(page_urls(version), rendered) == []


def test_every_retention_period(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    assert missing(retention_periods(text), rendered) == []


def test_every_right_with_its_grounds_and_terms(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    assert missing(right_titles(text), rendered) == []
    assert missing(right_grounds(text), rendered) == []
    terms = ["within a month", "two additional months", "two trusted IDs"]
    terms += ["password-protected PDF", "charge a fee", "supervisory authority"]
    assert all(t in text for t in terms)
    assert missing(terms, rendered) == []


def test_every_address_phone_email_and_entity(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    assert missing(contacts(text), rendered) == []
    assert missing(entities(text), rendered) == []
    dpo = re.search(r"(?m)^(.+?) is our Data Protection Officer", text)
    assert dpo
    assert norm(dpo.group(1)) in rendered


def test_transfers_security_and_general_terms(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    assert missing(offices(text), rendered) == []
    assert "adequacy decision" in rendered
    assert "standard contractual" in rendered
    assert "privacy shield" in rendered  # Gmail's cited safeguard
    assert "united states" in rendered
    assert "ireland" in rendered
    for measure in ("data encryption", "intrusion detection", "HTTPS, IPSec, TLS, PPTP, and SSH"):
        assert measure in text
        assert norm(measure) in rendered
    age = re.search(r"individuals under (\d+)", text)
    assert age
    assert f"under {age.group(1)}" in rendered
    assert "we do not make automated decisions, including profiling" in rendered
    assert "spam and swindler accounts" in rendered
    assert "backup storage" in rendered


def test_all_twelve_sections_and_contacts(case: tuple[str, str, str]) -> None:
    _, text, rendered = case
    titles = section_titles(text)
    assert len(titles) == 12
    assert missing(titles, rendered) == []
    assert "contact us" in rendered


def test_version_specific_contact_point() -> None:
    v1 = render_policy(BOOK.get("v1"), "md")
    v3 = render_policy(BOOK.get("v3"), "md")
    assert "please direct your inquiry to Altoros Development LLC" in v1
    assert "please direct your inquiry to Altoros Norge AS" in v3
    assert "Minsk" not in v3
    assert "MRP" not in v1
    assert "MRP" in v3


def test_html_escapes_values() -> None:
    manifest = BOOK.current.model_copy(deep=True)
    manifest.processors[0].name = "<script>alert(1)</script>"
    page = render_policy(manifest, "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown format"):
        render_policy(BOOK.current, "pdf")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PRIVACYOPS_POLICY_PATH", None)
    return subprocess.run(
        [sys.executable, "-m", "privacyops", "policy", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_render_markdown_and_file_output(tmp_path: Path) -> None:
    done = cli("render", "--version", "v1", "--format", "md")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Altoros Privacy Policy")
    assert "10 years from last event you have been registered" in done.stdout
    out = tmp_path / "policy.html"
    done = cli("render", "--output", str(out), "--notes")
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "Altoros Norge AS" in page
    assert "Notes on this version" in page


def test_cli_render_unknown_version() -> None:
    done = cli("render", "--version", "v9")
    assert done.returncode == 3
    assert "no policy version 'v9'" in done.stderr
    assert "Traceback" not in done.stderr
