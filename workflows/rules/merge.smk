# One store per sample from its shards, in shard (= BED) order.


rule merge:
    input:
        shards=shard_stores,
        regions=regions_of,
    output:
        store=out("{sample}", "{kind}.h5"),
    log:
        out("{sample}", "logs/merge.{kind}.log"),
    benchmark:
        out("{sample}", "benchmarks/merge.{kind}.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: 1
    resources:
        **resources_of("merge"),
    shell:
        "seqsal merge --out {output.store:q} --regions {input.regions:q} {input.shards:q} > {log:q} 2>&1"
