-- Cultural venues, typed; unknown seat counts become 0.
select
    id_lieu::integer as id_lieu,
    nom,
    lower(type) as type_lieu,
    commune,
    coalesce(places, 0)::integer as places
from {{ source('culture', 'lieux') }}
