def test_me_answers_the_callers_memberships(world, client_for):
    response = client_for(world.mentor).get("/api/me/")
    assert response.status_code == 200
    assert response.json()["memberships"] == [
        {"cohort": world.cohort.pk, "role": "mentor", "learner": None}
    ]
