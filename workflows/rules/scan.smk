# Scan mode (mode: scan): score every window along the genome, one job per (chromosome,
# chunk of window starts); call candidates over all shards; the top candidates' windows are
# the regions of the usual attribute -> merge -> seqlets -> motifs -> report chain.


rule scan:
    input:
        genome=config["genome"],
        model=model_input,
        spans=config["scan"]["regions"] or [],
    output:
        scores=out("{sample}", "scan/{chrom}.{chunk}.tsv.gz"),
    log:
        out("{sample}", "logs/scan.{chrom}.{chunk}.log"),
    benchmark:
        out("{sample}", "benchmarks/scan.{chrom}.{chunk}.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("scan")
    resources:
        **resources_of("scan"),
        gpu=GPUS,
    params:
        model=model_of,
        trust=switch("--trust-pickle", config["trust_pickle"]),
        layout=layout_of,
        width=option("--width", config["width"]),
        spans=lambda wildcards, input: option(
            "--regions", input.spans if input.spans else None
        ),
        span=scan_span,
        stride=config["scan"]["stride"],
        strand=config["scan"]["strand"],
        max_n=config["scan"]["max_n"],
        target=target_options(),
        device=config["device"],
    shell:
        "seqsal scan --model {params.model:q} {params.trust} {params.layout} {params.width}"
        " --fasta {input.genome:q} {params.spans} --region {params.span:q}"
        " --stride {params.stride} --strand {params.strand} --max-n {params.max_n}"
        " {params.target} --device {params.device} --threads {threads}"
        " --out {output.scores:q}"
        " --no-progress > {log:q} 2>&1"


rule candidates:
    input:
        scores=scan_shards,
        genome=config["genome"],
        model=model_input,
    output:
        bed=out("{sample}", "candidates.bed"),
        bigwig=out("{sample}", "scores.bw"),
    log:
        out("{sample}", "logs/candidates.log"),
    benchmark:
        out("{sample}", "benchmarks/candidates.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("candidates")
    resources:
        **resources_of("candidates"),
    params:
        model=model_of,
        trust=switch("--trust-pickle", config["trust_pickle"]),
        layout=layout_of,
        width=option("--width", config["width"]),
        threshold=(
            f"--fdr {config['scan']['fdr']}"
            if config["scan"]["threshold"] == "fdr"
            else f"--quantile {config['scan']['quantile']}"
        ),
        null_windows=config["scan"]["null_windows"],
        merge_gap=config["scan"]["merge_gap"],
        seed=config["scan"]["seed"],
        strand=config["scan"]["strand"],
        target=target_options(),
        device=config["device"],
    shell:
        "seqsal candidates --scores {input.scores:q} --model {params.model:q} {params.trust}"
        " {params.layout}"
        " {params.width} --fasta {input.genome:q} {params.threshold}"
        " --null-windows {params.null_windows} --merge-gap {params.merge_gap}"
        " --seed {params.seed} --strand {params.strand} {params.target}"
        " --device {params.device} --out {output.bed:q}"
        " --bigwig {output.bigwig:q} > {log:q} 2>&1"


# A checkpoint: how many candidates pass the threshold (so how many attribution shards) is
# known only once they are called.
checkpoint scan_regions:
    input:
        candidates=out("{sample}", "candidates.bed"),
        genome=config["genome"],
        model=model_input,
    output:
        bed=out("{sample}", "scan/top.bed"),
    log:
        out("{sample}", "logs/scan_regions.log"),
    benchmark:
        out("{sample}", "benchmarks/scan_regions.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: 1
    resources:
        **resources_of("scan_regions"),
    params:
        model=model_of,
        trust_pickle=config["trust_pickle"],
        layout=lambda wildcards: None if trained(wildcards.sample) else config["layout"],
        top=config["scan"]["top"],
        width=config["width"],
    script:
        "../scripts/scan_regions.py"
