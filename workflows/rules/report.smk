# The self-contained HTML report of a sample (seqsal report).


rule report:
    input:
        store=out("{sample}", "attr.h5"),
        motifs=out("{sample}", "motifs"),
        seqlets=out("{sample}", "seqlets.bed"),
        model=model_input,
    output:
        html=report(
            out("{sample}", "report.html"),
            caption="../report/report.rst",
            category="Report",
            subcategory="{sample}",
        ),
    log:
        out("{sample}", "logs/report.log"),
    benchmark:
        out("{sample}", "benchmarks/report.tsv")
    group:
        "summary"
    conda:
        "../envs/seqsal.yaml"
    threads: threads_of("report")
    resources:
        **resources_of("report"),
    params:
        model=lambda wildcards: option(
            "--model", model_of(wildcards) if trained(wildcards.sample) else None
        ),
        seqlets_fdr=config["seqlets"]["fdr"],
        title=report_title,
        n_regions=config["report"]["n_regions"],
    shell:
        "seqsal report --store {input.store:q} --motifs {input.motifs:q}"
        " --seqlets {input.seqlets:q} --seqlets-fdr {params.seqlets_fdr} {params.model}"
        " --out {output.html:q} --title {params.title:q} --gallery-regions {params.n_regions}"
        " --jobs {threads} > {log:q} 2>&1"
