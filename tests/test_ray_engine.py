"""The Ray engine against a real Ray cluster started here on this machine: a head and a worker node, one CPU each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semsearch.build import IndexConfig, build_index
from semsearch.errors import BuildInterrupted, EngineError
from semsearch.index import open_index

from .conftest import small_corpus

# Ray rewrites a bootstrap address of 127.0.0.1 to the machine's interface address, which a cluster bound to
# 127.0.0.1 does not answer on; 127.0.0.2 is loopback too and is taken as given, so the nodes talk over loopback.
LOOPBACK = "127.0.0.2"
pytestmark = pytest.mark.ray  # about 45 s; `pytest -m 'not ray'` skips them

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "160", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": LOOPBACK}
    )
    cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _ray(cluster) -> IndexConfig:
    return IndexConfig(engine="ray", ray_address=cluster.address)


def test_two_nodes_build_the_same_index_as_the_local_engine(cluster, corpus_copy, built_index, tmp_path):
    import ray

    report = build_index([corpus_copy], tmp_path / "index", _ray(cluster))
    assert len(ray.nodes()) == 2 and ray.cluster_resources()["CPU"] == 2
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {LOOPBACK}
    on_ray, local = open_index(tmp_path / "index"), open_index(built_index)
    assert report.new == len(local.paragraphs) and on_ray.hashes == local.hashes
    assert [p.to_dict() for p in on_ray.paragraphs] == [p.to_dict() for p in local.paragraphs]
    agreement = np.einsum("ij,ij->i", on_ray.vectors, local.vectors)
    assert agreement.min() >= 0.9999, agreement.min()
    assert on_ray.clauses.keys() == local.clauses.keys()
    assert min(float(on_ray.clauses[h] @ local.clauses[h]) for h in local.clauses) >= 0.9999
    assert on_ray.manifest["model"] == local.manifest["model"]
    assert on_ray.manifest["index"] == local.manifest["index"]


def test_an_incremental_ray_build_embeds_only_what_changed(cluster, tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index", _ray(cluster))
    text = (corpus / "small.txt").read_text(encoding="utf-8")
    (corpus / "small.txt").write_text(text.replace("at least ten years", "at least twenty years"), encoding="utf-8")
    totals: list[int] = []
    report = build_index([corpus], tmp_path / "index", _ray(cluster), progress=lambda done, total: totals.append(total))
    assert (report.new, report.changed, report.reused) == (0, 1, 2)
    assert set(totals) == {1}
    rebuilt = open_index(tmp_path / "index")
    assert "twenty years" in rebuilt.paragraphs[1].text


def test_an_interrupted_ray_build_leaves_the_previous_index(cluster, tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index", _ray(cluster))
    before = (tmp_path / "index" / "CURRENT").read_text()
    extra = "".join(f"\n{n}. The Conference may wish to invite States to report on case {n}.\n" for n in range(4, 40))
    small_corpus(corpus, extra=extra)

    def interrupt(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(BuildInterrupted, match=r"previous index .* is unchanged"):
        build_index([corpus], tmp_path / "index", _ray(cluster), progress=interrupt)
    assert (tmp_path / "index" / "CURRENT").read_text() == before
    assert len(open_index(tmp_path / "index").paragraphs) == 3
    assert not [p for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]


def test_without_ray_the_engine_names_the_extra_to_install(tmp_path, monkeypatch):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    before = (tmp_path / "index" / "CURRENT").read_text()
    small_corpus(corpus, extra="\n4. The Conference may wish to urge States to trace ammunition.\n")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(EngineError, match=r"pip install 'semsearch\[ray\]'"):
        build_index([corpus], tmp_path / "index", IndexConfig(engine="ray"))
    assert (tmp_path / "index" / "CURRENT").read_text() == before


def _cli(*arguments: str, cwd: Path, hide_ray: bool = False) -> subprocess.CompletedProcess:
    hide = "import sys; sys.modules['ray'] = None; " if hide_ray else "import sys; "
    script = hide + "from semsearch.cli import main; sys.argv = ['semsearch', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", script, *arguments], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


def test_the_cli_refuses_the_ray_engine_without_ray_in_one_line(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    result = _cli(
        "index", str(corpus), "--index-dir", str(tmp_path / "index"), "--engine", "ray", cwd=tmp_path, hide_ray=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines() == ["error: the ray engine needs Ray: pip install 'semsearch[ray]'"]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [(("--engine", "spark"), "--engine"), (("--address", "127.0.0.1:6379"), "--address")],
)
def test_the_cli_refuses_an_unknown_engine_or_an_address_without_ray(tmp_path, arguments, fragment):
    corpus = small_corpus(tmp_path / "corpus")
    result = _cli("index", str(corpus), "--index-dir", str(tmp_path / "index"), *arguments, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    assert fragment in result.stderr and not (tmp_path / "index").exists()


def test_the_manifest_does_not_say_which_engine_built_it(cluster, tmp_path):
    """Same format whichever engine embeds: an index built on Ray is refreshed locally, reusing every vector."""
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index", _ray(cluster))
    shutil.copytree(corpus, tmp_path / "copy")
    report = build_index([corpus], tmp_path / "index")
    manifest = json.loads((open_index(tmp_path / "index").directory / "manifest.json").read_text())
    assert report.reused == 3 and "engine" not in json.dumps(manifest)
