"""Draw one PNG logo per discovered motif (trimmed CWM) into a folder, for Snakemake's report.

Run by Snakemake's ``script:`` directive (rule ``logos``), which defines ``snakemake``.
"""

import logging
from pathlib import Path

from seqsal.io.atomic import atomic_directory
from seqsal.motifs.cwm_io import read_motifs
from seqsal.plot.logo import motif_logo, save_figure


def write_logos(motifs_h5, folder) -> list[Path]:
    """Write ``<motif name>.png`` for every motif of ``motifs_h5`` into ``folder``.

    The folder is filled under a temporary name beside it and renamed when complete.
    """
    import matplotlib.pyplot as plt

    folder = Path(folder)
    names = []
    with atomic_directory(folder) as tmp:
        for motif in read_motifs(motifs_h5):
            title = f"{motif.name} ({motif.n_seqlets} seqlets)"
            fig = motif_logo(motif, "cwm", trim=True, title=title)
            save_figure(fig, tmp / f"{motif.name}.png")
            plt.close(fig)
            names.append(f"{motif.name}.png")
    return [folder / name for name in names]


if __name__ == "__main__":
    smk = globals()["snakemake"]
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    written = write_logos(Path(smk.input.motifs) / "motifs.h5", smk.output.folder)
    logging.getLogger("logos").info("%d logos -> %s", len(written), smk.output.folder)
