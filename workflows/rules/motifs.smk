# Motifs from discovery seqlets (called here at motifs.discovery_fdr, looser than the reported
# seqlets.bed), matched against JASPAR (offline), with their instances.


rule motifs:
    input:
        store=out("{sample}", "attr.h5"),
        null=null_store,
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
        null=lambda wildcards, input: option(
            "--null", input.null[0] if input.null else None
        ),
        discovery_fdr=config["motifs"]["discovery_fdr"],
        min_length=config["seqlets"]["min_length"],
        max_length=config["seqlets"]["max_length"],
        database=config["motifs"]["database"],
        top=config["motifs"]["top"],
        min_seqlets=config["motifs"]["min_seqlets"],
        alpha=config["motifs"]["alpha"],
        seed=config["motifs"]["seed"],
    shell:
        "seqsal motifs --store {input.store:q} {params.null}"
        " --discovery-fdr {params.discovery_fdr} --min-length {params.min_length}"
        " --max-length {params.max_length} --out {output.folder:q}"
        " --database {params.database:q} --top-matches {params.top}"
        " --min-seqlets {params.min_seqlets} --alpha {params.alpha} --seed {params.seed}"
        " --no-progress > {log:q} 2>&1"
