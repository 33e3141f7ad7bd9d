-- Per commune: schools, pupils, enrolments and cultural venues side by side.
with

ecoles as (
    select
        commune,
        count(*) as nb_etablissements,
        sum(nb_eleves) as nb_eleves
    from {{ ref('stg_etablissements') }}
    group by commune
),

inscriptions as (
    select
        etab.commune,
        sum(insc.nb_inscrits) as nb_inscriptions
    from {{ ref('stg_inscriptions') }} as insc
    inner join {{ ref('stg_etablissements') }} as etab
        on insc.code_fase = etab.code_fase
    group by etab.commune
),

culture as (
    select
        commune,
        count(*) as nb_lieux,
        sum(places) as places
    from {{ ref('stg_lieux') }}
    group by commune
)

select
    coalesce(ecoles.commune, culture.commune) as commune,
    coalesce(ecoles.nb_etablissements, 0) as nb_etablissements,
    coalesce(ecoles.nb_eleves, 0) as nb_eleves,
    coalesce(inscriptions.nb_inscriptions, 0) as nb_inscriptions,
    coalesce(culture.nb_lieux, 0) as nb_lieux,
    coalesce(culture.places, 0) as places
from ecoles
full outer join culture
    on ecoles.commune = culture.commune
left join inscriptions
    on coalesce(ecoles.commune, culture.commune) = inscriptions.commune
