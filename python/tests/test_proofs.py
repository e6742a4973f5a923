"""Checkpoints and proofs from Python: the same notes and the same proof JSON as the
CLI's `checkpoint` and `prove ... --json`, checked offline by `tt.verify_proof` as by
`tradetrail verify-proof`."""

from __future__ import annotations

import json

import pytest

import tradetrail as tt
from conftest import param_changed, run_cli


def test_proofs_equal_the_clis_and_verify_offline(data, cli, tmp_path):
    with tt.Recorder.open(data) as rec:
        rec.record_many([param_changed() for _ in range(6)])
        old_note = rec.checkpoint()                     # tree size 7
        rec.record_many([param_changed() for _ in range(5)])
        note = rec.checkpoint()                         # tree size 13
        key = rec.verifier_key()
        inclusion = rec.prove_inclusion(4)              # at the newest checkpoint's size
        at_size = rec.prove_inclusion(4, size=7)
        consistency = rec.prove_consistency()           # between the last two checkpoints
        consistency_7 = rec.prove_consistency(7, new=13)
        line = rec.read_line(4)
        with pytest.raises(ValueError, match="--seq 20"):
            rec.prove_inclusion(20)
    assert old_note.startswith("tradetrail.test/python\n7\n")
    assert note.startswith("tradetrail.test/python\n13\n")
    assert (inclusion["seq"], inclusion["size"]) == (4, 13)
    assert (consistency["old"], consistency["new"]) == (7, 13)
    assert consistency_7 == consistency

    def cli_json(*args):
        out = run_cli(cli, *args, "--data", str(data))
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout

    assert json.loads(cli_json("prove", "inclusion", "--seq", "4", "--json")) == inclusion
    assert json.loads(cli_json("prove", "inclusion", "--seq", "4", "--size", "7", "--json")) == at_size
    assert json.loads(cli_json("prove", "consistency", "--json")) == consistency
    assert cli_json("key", "show").decode().strip() == key
    saved = sorted((data / "checkpoints").glob("*"))
    assert [p.read_text() for p in saved][-2:] == [old_note, note]

    # The checkpoint file given as --checkpoint / checkpoint=.
    cp_file = tmp_path / "cp.txt"
    cp_file.write_text(old_note)
    with tt.Recorder.open(data) as rec:
        from_file = rec.prove_inclusion(4, checkpoint=cp_file)
    assert from_file == at_size

    ok = tt.verify_proof(note, key, inclusion, record=line)
    assert ok == {"ok": True, "origin": "tradetrail.test/python", "seq": 4, "size": 13}
    ok = tt.verify_proof(note, key, consistency, old_checkpoint=old_note)
    assert ok == {"ok": True, "origin": "tradetrail.test/python", "old": 7, "new": 13}

    # The CLI agrees on the same files, and on a wrong record.
    (tmp_path / "note").write_text(note)
    (tmp_path / "old").write_text(old_note)
    (tmp_path / "p.json").write_text(json.dumps(inclusion))
    (tmp_path / "c.json").write_text(json.dumps(consistency))
    (tmp_path / "line").write_bytes(line + b"\n")
    out = run_cli(cli, "verify-proof", "--checkpoint", str(tmp_path / "note"), "--key", key,
                  "--record", str(tmp_path / "line"), "--proof", str(tmp_path / "p.json"))
    assert out.returncode == 0 and out.stdout.startswith(b"ok: record 4 "), out
    out = run_cli(cli, "verify-proof", "--checkpoint", str(tmp_path / "note"), "--key", key,
                  "--old-checkpoint", str(tmp_path / "old"), "--proof", str(tmp_path / "c.json"))
    assert out.returncode == 0, out

    tampered = line.replace(b'"meta"', b'"mEta"')
    bad = tt.verify_proof(note, key, inclusion, record=tampered)
    assert bad["ok"] is False and "leaf hash" in bad["reason"]
    (tmp_path / "line").write_bytes(tampered + b"\n")
    out = run_cli(cli, "verify-proof", "--checkpoint", str(tmp_path / "note"), "--key", key,
                  "--record", str(tmp_path / "line"), "--proof", str(tmp_path / "p.json"))
    assert out.returncode == 1 and out.stdout.decode().strip() == f"FAILED: {bad['reason']}"

    # A proof for another tree size says nothing: ValueError, as the CLI's exit 2.
    with pytest.raises(ValueError, match="tree size 7 but the checkpoint is for tree size 13"):
        tt.verify_proof(note, key, at_size, record=line)
    with pytest.raises(ValueError, match="^key: "):
        tt.verify_proof(note, "not a key", inclusion, record=line)
    with pytest.raises(ValueError, match="record"):
        tt.verify_proof(note, key, inclusion)
