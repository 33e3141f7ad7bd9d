-- Schools, typed and trimmed, one row per FASE code.
select distinct on (code_fase)
    cast(code_fase as integer) as code_fase,
    trim(nom) as nom,
    commune,
    reseau,
    cast(coalesce(nb_eleves, 0) as integer) as nb_eleves
from {{ source('enseignement', 'etablissements') }}
order by code_fase
