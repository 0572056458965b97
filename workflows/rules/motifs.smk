# Motifs from the seqlets, matched against JASPAR (offline), with their instances.


rule motifs:
    input:
        store=out("{sample}", "attr.h5"),
        seqlets=out("{sample}", "seqlets.bed"),
    output:
        folder=directory(out("{sample}", "motifs")),
    log:
        out("{sample}", "logs/motifs.log"),
    benchmark:
        out("{sample}", "benchmarks/motifs.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("motifs")
    resources:
        **resources_of("motifs"),
    params:
        database=config["motifs"]["database"],
        top=config["motifs"]["top"],
        min_seqlets=config["motifs"]["min_seqlets"],
        alpha=config["motifs"]["alpha"],
        seed=config["motifs"]["seed"],
    shell:
        "seqsal motifs --store {input.store:q} --seqlets {input.seqlets:q}"
        " --out {output.folder:q} --database {params.database:q} --top-matches {params.top}"
        " --min-seqlets {params.min_seqlets} --alpha {params.alpha} --seed {params.seed}"
        " --no-progress > {log:q} 2>&1"
