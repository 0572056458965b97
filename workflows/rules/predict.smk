# Predictions of the model for every region (the windows actually used, then one column per target).


rule predict:
    input:
        genome=config["genome"],
        regions=regions_of,
        model=model_input,
    output:
        table=report(
            out("{sample}", "predictions.tsv"),
            caption="../report/predictions.rst",
            category="Predictions",
            subcategory="{sample}",
        ),
    log:
        out("{sample}", "logs/predict.log"),
    benchmark:
        out("{sample}", "benchmarks/predict.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("predict")
    resources:
        **resources_of("predict"),
    params:
        model=model_of,
        trust=switch("--trust-pickle", config["trust_pickle"]),
        layout=layout_of,
        width=option("--width", config["width"]),
        batch_size=config["predict"]["batch_size"],
        device=config["device"],
    shell:
        "seqsal predict --model {params.model:q} {params.trust} {params.layout} {params.width}"
        " --fasta {input.genome:q} --regions {input.regions:q} --out {output.table:q}"
        " --batch-size {params.batch_size} --device {params.device} --no-progress"
        " > {log:q} 2>&1"
