-- Daily enrolments, all days imported so far.
select
    cast(jour as date) as jour,
    cast(code_fase as integer) as code_fase,
    niveau,
    cast(nb_inscrits as integer) as nb_inscrits
from {{ source('enseignement', 'inscriptions') }}
