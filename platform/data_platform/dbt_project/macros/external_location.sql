{#- Where an external model is written: <lakehouse_root>/data_platform/<layer>/<name>.parquet,
    the layer being the model name's prefix (stg_, slv_, gld_). Overrides dbt-duckdb's default. -#}
{%- macro external_location(relation, config) -%}
  {%- set layer = relation.identifier.split('_')[0] -%}
  {%- if layer not in ['stg', 'slv', 'gld'] -%}
    {{ exceptions.raise_compiler_error("Model `" ~ relation.identifier ~ "` must start with stg_, slv_ or gld_ (its lakehouse layer).") }}
  {%- endif -%}
  {{ var('lakehouse_root') }}/data_platform/{{ layer }}/{{ relation.identifier[layer | length + 1:] }}.parquet
{%- endmacro -%}
