import gzip
import shutil
from pathlib import Path

import pytest

from addons.core.errors import ConfigErrors
from addons.core.model import Action, Reason, RequestView
from addons.core.settings import Settings
from addons.infra.loader import load_settings, load_snapshot
from tests.helpers.trees import SHIPPED_BLOCKLISTS, SHIPPED_POLICIES


def errors(settings: Settings) -> list[str]:
    with pytest.raises(ConfigErrors) as e:
        load_snapshot(settings)
    return [str(x) for x in e.value.errors]


def test_loads_the_tree(settings: Settings) -> None:
    snap = load_snapshot(settings).snapshot
    assert snap.info["domains"] == 10 and snap.info["urls"] == 2 and snap.info["clients"] == 5
    v = snap.decide(RequestView("casino.test"), snap.group("grade-7"))
    assert v.action is Action.BLOCK and v.rule.endswith("(list blocklists/gambling.txt:1)")


def test_index_is_cached_and_rebuilt_on_change(settings: Settings) -> None:
    load_snapshot(settings)
    index_dir = Path(settings.data_dir) / "index"
    first = list(index_dir.glob("local-*.idx"))
    assert len(first) == 1
    load_snapshot(settings)
    assert list(index_dir.glob("local-*.idx")) == first
    (Path(settings.blocklists_dir) / "games" / "domains").write_text("games.test\nmore-games.test\n")
    snap = load_snapshot(settings).snapshot
    second = list(index_dir.glob("local-*.idx"))
    assert len(second) == 1 and second != first
    assert snap.decide(RequestView("more-games.test"), snap.group("grade-1")).category == "games"


def test_gzip_lists_and_aliases(settings: Settings) -> None:
    bl = Path(settings.blocklists_dir)
    (bl / "agressif").mkdir()
    (bl / "agressif" / "domains.gz").write_bytes(gzip.compress(b"fight.test\n"))
    snap = load_snapshot(settings).snapshot
    assert snap.decide(RequestView("fight.test"), snap.group("grade-1")).category == "violence"


def test_unknown_directories_are_warned_not_fatal(settings: Settings) -> None:
    (Path(settings.blocklists_dir) / "astrology").mkdir()
    (Path(settings.blocklists_dir) / "astrology" / "domains").write_text("stars.test\n")
    result = load_snapshot(settings)
    assert any("directory 'astrology' is not a known category; ignored" in str(w) for w in result.warnings)


def test_bad_lists_are_refused_with_file_and_line(settings: Settings) -> None:
    bl = Path(settings.blocklists_dir)
    (bl / "games" / "domains").write_text("games.test\n" + "this is not a domain\n" * 30)
    (bl / "dating").mkdir()
    (bl / "dating" / "domains.gz").write_bytes(b"not gzip")
    msgs = errors(Settings(**{**settings.__dict__, "max_list_errors": 5}))
    assert any(m.startswith("blocklists/games/domains:2: list refused: 30 of 31 lines could not be read")
               for m in msgs), msgs
    assert any(m.startswith("blocklists/dating/domains.gz: not a valid gzip file") for m in msgs), msgs


def test_unreadable_list_file(settings: Settings) -> None:
    (Path(settings.blocklists_dir) / "hacking").mkdir()
    (Path(settings.blocklists_dir) / "hacking" / "domains").symlink_to("/nonexistent/list")
    assert any("blocklists/hacking/domains: file not found" in m for m in errors(settings))


def test_policy_errors_name_file_and_line(settings: Settings) -> None:
    p = Path(settings.policies_dir) / "grade-7.yaml"
    p.write_text("groups:\n  grade-7:\n    categories:\n      gamblin: block\n")
    msgs = errors(settings)
    assert msgs == [f"{p}:4: unknown category 'gamblin'. Fix: did you mean 'gambling'?; "
                    "categories are defined in blocklists/categories.yaml"]


def test_missing_directories(settings: Settings, tmp_path: Path) -> None:
    msgs = errors(Settings(**{**settings.__dict__, "policies_dir": str(tmp_path / "nope")}))
    assert any("policies directory not found" in m for m in msgs)
    msgs = errors(Settings(**{**settings.__dict__, "blocklists_dir": str(tmp_path / "nope")}))
    assert any("blocklists directory not found" in m for m in msgs)


def test_shipped_defaults_load(tmp_path: Path) -> None:
    snap = load_snapshot(Settings(data_dir=str(tmp_path))).snapshot
    assert snap.info["domains"] > 100_000 and snap.categories.locked == frozenset({"csam", "illegal"})
    assert snap.group("default").level == "primary"
    # The shipped lists block well-known sites for the default (unknown device) policy.
    for host, category in [("pornhub.com", "adult"), ("www.facebook.com", "social_networks")]:
        v = snap.decide(RequestView(host), snap.group("default"))
        assert (v.action, v.category) == (Action.BLOCK, category)
    assert snap.decide(RequestView("vnexpress.net"), snap.group("default")).reason is Reason.DEFAULT


def test_example_policy_is_valid(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, policies)
    shutil.copy(policies / "example.yaml", policies / "example-copy.yaml")  # loaded under another name
    snap = load_snapshot(Settings(policies_dir=str(policies), blocklists_dir=str(SHIPPED_BLOCKLISTS),
                                  data_dir=str(tmp_path / "d"))).snapshot
    assert "example-class-7a" in snap.policy.groups
    assert snap.client("10.77.7.5").group == "example-class-7a"


def test_load_settings_file_and_overrides(tmp_path: Path) -> None:
    f = tmp_path / "schoolgate.yaml"
    f.write_text("listen_port: 3128\nschool_name: THCS Lê Lợi\n", encoding="utf-8")
    s, warnings = load_settings(f, {"listen_port": "9000"})
    assert s.listen_port == 9000 and s.school_name == "THCS Lê Lợi" and not warnings
    f.write_text("listen_port: 3128\nlanguge: vi\n")
    with pytest.raises(ConfigErrors) as e:
        load_settings(f, {})
    assert str(e.value.errors[0]).endswith("schoolgate.yaml:2: unknown setting 'languge'. Fix: did you mean 'language'?")


def test_image_hash_lists_load_for_locked_categories_only(settings: Settings) -> None:
    bl = Path(settings.blocklists_dir)
    (bl / "csam").mkdir(exist_ok=True)
    (bl / "csam" / "hashes").write_text(f"sha256 {'a' * 64} img-1\npdq {'b' * 64} img-2\nmd5 short\n")
    result = load_snapshot(settings)
    snap = result.snapshot
    assert snap.info["image_hashes"] == 2 and snap.hashes.pdq_count == 1
    m = snap.hashes.match_exact("a" * 64)
    assert m is not None and (m.list_id, m.category, m.entry_id) == ("blocklists/csam/hashes", "csam", "img-1")
    assert [str(w) for w in result.warnings] == [
        "blocklists/csam/hashes:3: warning: line ignored: a md5 hash has 32 hexadecimal digits. "
        "Fix: fix or remove the line"]
    (bl / "games" / "hashes").write_text(f"sha256 {'c' * 64}\n")
    assert any(m.startswith("blocklists/games/hashes: an image-hash list must feed a locked category")
               for m in errors(settings))
