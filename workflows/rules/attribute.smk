# Attribution, one job per shard of regions: the regions themselves ("attr") and, for the
# seqlet null, dinucleotide-shuffled copies of their windows ("null"), same model and settings.


rule attribute:
    input:
        genome=config["genome"],
        regions=out("{sample}", "shards/regions.{shard}.bed"),
        model=model_input,
    output:
        store=out("{sample}", "shards/{kind}.{shard}.h5"),
    log:
        out("{sample}", "logs/attribute.{kind}.{shard}.log"),
    benchmark:
        out("{sample}", "benchmarks/attribute.{kind}.{shard}.tsv")
    group:
        "shard"
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("attribute")
    resources:
        **resources_of("attribute"),
        gpu=GPUS,
    params:
        model=model_of,
        trust=switch("--trust-pickle", config["trust_pickle"]),
        layout=layout_of,
        width=option("--width", config["width"]),
        control=lambda wildcards: switch("--shuffle-control", wildcards.kind == "null"),
        method=config["attribute"]["method"],
        target=target_options(),
        steps=config["attribute"]["steps"],
        baseline=option("--baseline", config["attribute"]["baseline"]),
        rc=switch("--rc-average", config["attribute"]["rc_average"]),
        float16=switch("--float16", config["attribute"]["float16"]),
        chunk_size=config["attribute"]["chunk_size"],
        seed=config["attribute"]["seed"],
        device=config["device"],
    shell:
        "seqsal attribute --model {params.model:q} {params.trust} {params.layout} {params.width}"
        " --fasta {input.genome:q} --regions {input.regions:q} --out {output.store:q}"
        " {params.control} --method {params.method} {params.target}"
        " --steps {params.steps} {params.baseline} {params.rc} {params.float16}"
        " --chunk-size {params.chunk_size} --seed {params.seed} --device {params.device}"
        " --no-progress > {log:q} 2>&1"
