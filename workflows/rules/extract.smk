# Windows of the regions as sequences (for other tools) and the region shards of attribution.


rule extract:
    input:
        genome=config["genome"],
        regions=regions_of,
    output:
        fasta=out("{sample}", "sequences.fa"),
        windows=out("{sample}", "windows.bed"),
    log:
        out("{sample}", "logs/extract.log"),
    benchmark:
        out("{sample}", "benchmarks/extract.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("extract")
    resources:
        **resources_of("extract"),
    params:
        width=config["width"],
    shell:
        "seqsal extract --fasta {input.genome:q} --regions {input.regions:q}"
        " --width {params.width} --out {output.fasta:q} --windows-bed {output.windows:q}"
        " > {log:q} 2>&1"


rule shard_regions:
    input:
        regions=regions_of,
    output:
        bed=out("{sample}", "shards/regions.{shard}.bed"),
    log:
        out("{sample}", "logs/shard_regions.{shard}.log"),
    benchmark:
        out("{sample}", "benchmarks/shard_regions.{shard}.tsv")
    group:
        "shard"
    conda:
        "../envs/seqsal.yaml"
    threads: 1
    resources:
        **resources_of("shard_regions"),
    params:
        shard_size=config["attribute"]["shard_size"],
    script:
        "../scripts/shard_regions.py"
