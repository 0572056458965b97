# One PNG logo per discovered motif (its contribution weight matrix), for the Snakemake report.


rule logos:
    input:
        motifs=out("{sample}", "motifs"),
    output:
        folder=report(
            directory(out("{sample}", "logos")),
            patterns=["{name}.png"],
            caption="../report/logos.rst",
            category="Motif logos",
            subcategory="{sample}",
        ),
    log:
        out("{sample}", "logs/logos.log"),
    benchmark:
        out("{sample}", "benchmarks/logos.tsv")
    group:
        "summary"
    conda:
        "../envs/seqsal.yaml"
    threads: 1
    resources:
        **resources_of("logos"),
    script:
        "../scripts/logos.py"
