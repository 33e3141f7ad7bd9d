-- Ready for dashboards: cultural seats per 100 pupils, per commune.
select
    commune,
    nb_etablissements,
    nb_eleves,
    nb_inscriptions,
    nb_lieux,
    places,
    case when nb_eleves > 0 then round(100.0 * places / nb_eleves, 1) end as places_pour_100_eleves
from {{ ref('slv_offre_communale') }}
order by commune
