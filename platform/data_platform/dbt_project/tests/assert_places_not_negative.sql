-- A singular test: no commune may have a negative number of seats or pupils.
select
    commune,
    places,
    nb_eleves
from {{ ref('gld_offre_par_commune') }}
where places < 0 or nb_eleves < 0
