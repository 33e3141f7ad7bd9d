-- Cultural venues, typed; unknown seat counts become 0.
select
    cast(id_lieu as integer) as id_lieu,
    nom,
    lower(type) as type_lieu,
    commune,
    cast(coalesce(places, 0) as integer) as places
from {{ source('culture', 'lieux') }}
