-- Per commune: schools, pupils, enrolments and cultural venues side by side.
with ecoles as (
    select commune, count(*) as nb_etablissements, sum(nb_eleves) as nb_eleves
    from {{ ref('stg_etablissements') }}
    group by commune
),
inscriptions as (
    select e.commune, sum(i.nb_inscrits) as nb_inscriptions
    from {{ ref('stg_inscriptions') }} as i
    join {{ ref('stg_etablissements') }} as e using (code_fase)
    group by e.commune
),
culture as (
    select commune, count(*) as nb_lieux, sum(places) as places
    from {{ ref('stg_lieux') }}
    group by commune
)
select
    coalesce(ecoles.commune, culture.commune) as commune,
    coalesce(nb_etablissements, 0) as nb_etablissements,
    coalesce(nb_eleves, 0) as nb_eleves,
    coalesce(nb_inscriptions, 0) as nb_inscriptions,
    coalesce(nb_lieux, 0) as nb_lieux,
    coalesce(places, 0) as places
from ecoles
full outer join culture using (commune)
left join inscriptions using (commune)
