# Attributions mode: the store (attr.h5) and its null (null.h5) come from the config's
# `attributions` block instead of the model: a seqsal store is linked, files computed
# elsewhere go through `seqsal import`. Replaces train/predict/attribute/merge.


if ATTRIBUTIONS:

    ruleorder: import_attributions > merge

    rule import_attributions:
        input:
            unpack(attributions_inputs),
        output:
            store=out("{sample}", "{kind}.h5"),
        log:
            out("{sample}", "logs/import.{kind}.log"),
        benchmark:
            out("{sample}", "benchmarks/import.{kind}.tsv")
        conda:
            "../envs/seqsal.yaml"
        threads: 1
        resources:
            **resources_of("import"),
        params:
            command=import_command,
        shell:
            "{params.command} > {log:q} 2>&1"
