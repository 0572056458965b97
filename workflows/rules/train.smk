# Train a zoo model per sample when the config names no model.


rule train:
    input:
        genome=config["genome"],
        regions=training_regions_of,
    output:
        model=directory(out("{sample}", "model")),
    log:
        out("{sample}", "logs/train.log"),
    benchmark:
        out("{sample}", "benchmarks/train.tsv")
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("train")
    resources:
        **resources_of("train"),
        gpu=GPUS,
    params:
        arch=config["train"]["arch"],
        arch_kwargs=option("--arch-kwargs", json.dumps(config["train"]["arch_kwargs"])),
        targets=option("--targets", config["train"]["targets"]),
        task=config["train"]["task"],
        width=option("--width", config["width"]),
        context=option("--context", config["train"]["context"]),
        val=option("--val-chroms", config["train"]["val_chroms"]),
        test=option("--test-chroms", config["train"]["test_chroms"]),
        epochs=config["train"]["epochs"],
        batch_size=config["train"]["batch_size"],
        lr=config["train"]["lr"],
        patience=config["train"]["patience"],
        seed=config["train"]["seed"],
        device=config["device"],
    shell:
        "seqsal train --fasta {input.genome:q} --regions {input.regions:q} --out {output.model:q}"
        " --arch {params.arch} {params.arch_kwargs} {params.targets} --task {params.task}"
        " {params.width} {params.context} {params.val} {params.test} --epochs {params.epochs}"
        " --train-batch-size {params.batch_size} --lr {params.lr} --patience {params.patience}"
        " --seed {params.seed} --device {params.device} --no-progress > {log:q} 2>&1"
