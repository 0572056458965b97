# Seqlets: salient spans at a target FDR against the shuffled controls' attributions.


rule seqlets:
    input:
        store=out("{sample}", "attr.h5"),
        null=null_store,
    output:
        bed=out("{sample}", "seqlets.bed"),
    log:
        out("{sample}", "logs/seqlets.log"),
    benchmark:
        out("{sample}", "benchmarks/seqlets.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("seqlets")
    resources:
        **resources_of("seqlets"),
    params:
        null=lambda wildcards, input: option(
            "--null", input.null[0] if input.null else None
        ),
        fdr=config["seqlets"]["fdr"],
        min_length=config["seqlets"]["min_length"],
        max_length=config["seqlets"]["max_length"],
        flank=config["seqlets"]["flank"],
        sign=config["seqlets"]["sign"],
    shell:
        "seqsal seqlets --store {input.store:q} {params.null} --out {output.bed:q}"
        " --fdr {params.fdr} --min-length {params.min_length} --max-length {params.max_length}"
        " --flank {params.flank} --sign {params.sign} --no-progress > {log:q} 2>&1"
